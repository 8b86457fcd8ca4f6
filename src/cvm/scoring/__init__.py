"""Monthly scoring: every customer scored as of a day on strategic and tactical scores
(`cvm.scoring.registry`), kept as history, with drift between runs; ``ws.scoring``."""

from cvm.scoring.registry import SCORES, ScoreDef, line_key

__all__ = ["SCORES", "ScoreDef", "line_key"]
