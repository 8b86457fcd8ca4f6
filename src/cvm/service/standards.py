"""Service standards as data: ``[service.standards]`` and ``[service.clocks]`` of cvm.toml.

A standard promises, at one touchpoint (or all), for interactions of some kinds (or every
kind), that the first response (``first_response_at``) or the resolution (``resolved_at``)
comes within a limit after ``opened_at``, timed on a clock (elapsed or business hours), for
at least a target share of interactions. Defaults (source document 001): answer the phone
within three rings (15 seconds), reply to a web message within 5 minutes, an engineer on
site within 2 hours, all on elapsed time; and complaints resolved within 2 days.
"""

from __future__ import annotations

from dataclasses import dataclass

from cvm.config import ServiceSettings
from cvm.service.clock import ELAPSED, Clock

__all__ = ["MEASURE_COLUMNS", "Standard", "standards_from"]

#: The interactions column each measure times (from ``opened_at``).
MEASURE_COLUMNS = {"first_response": "first_response_at", "resolution": "resolved_at"}


@dataclass(frozen=True)
class Standard:
    """One checked standard with its clock."""

    name: str
    touchpoint: str  # a touchpoint, or "all"
    kinds: tuple[str, ...]  # lower-case; empty: every kind
    measure: str
    limit_seconds: int
    clock: Clock
    target: float

    @property
    def column(self) -> str:
        return MEASURE_COLUMNS[self.measure]

    def describe(self) -> dict:
        """The standard as a row of `cvm service standards --view list`."""
        c = self.clock
        return {"standard": self.name, "touchpoint": self.touchpoint,
                "kinds": ", ".join(self.kinds) or "all", "measure": self.measure,
                "limit_seconds": self.limit_seconds, "clock": c.name,
                "clock_zone": None if c.is_elapsed else c.zone, "target": self.target}


def standards_from(settings: ServiceSettings, workspace_zone: str) -> list[Standard]:
    """The workspace's standards, in the order cvm.toml lists them."""
    clocks = {name: Clock.business(name, spec, workspace_zone)
              for name, spec in settings.clock_specs().items()}
    out = []
    for name, spec in settings.standard_specs().items():
        clock = Clock.elapsed() if spec.clock == ELAPSED else clocks[spec.clock]
        out.append(Standard(name, spec.touchpoint, tuple(k.lower() for k in spec.kinds),
                            spec.measure, spec.limit_seconds, clock, spec.target))
    return out
