"""Customer value: profit after cost to serve, Pareto tiers, RFM, concentration, breakdowns.

Engine-neutral Ibis expressions over the workspace's tables; `ValueFacade` (``ws.value``)
runs them on a workspace.
"""
