"""The specification of a PLS path model: blocks of items, their modes, the inner paths, the scale.

A `PathModel` is a plain description, independent of any data: which items (manifest
variables) measure which construct (latent variable), whether a block is reflective (mode A)
or formative (mode B), which constructs explain which (the inner model, which must be
recursive), and the answer scale the index is rescaled from. It is read from a TOML file::

    [blocks]
    Image = ["IMAG1", "IMAG2", "IMAG3", "IMAG4", "IMAG5"]
    Satisfaction = ["CUSA1", "CUSA2", "CUSA3"]
    [modes]            # optional; "A" (reflective, the default) or "B" (formative)
    Image = "A"
    [paths]            # construct = [its predecessors]
    Satisfaction = ["Image"]
    [scale]            # optional; lowest and highest allowed answer
    min = 1
    max = 10

`PathModel.ecsi()` is the built-in seven-factor telecom satisfaction model (the ECSI model of
Tenenhaus, Esposito Vinzi, Chatelin & Lauro 2005 on the ``mobi`` mobile-operator survey).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cvm._toml import load_toml
from cvm.errors import InputError, Problem, ValidationError

__all__ = ["PathModel"]

_MAX_PROBLEMS = 10


@dataclass(frozen=True)
class PathModel:
    """Blocks, modes, inner paths and answer scale of a PLS path model.

    Parameters
    ----------
    blocks : mapping of str to sequence of str
        Construct name -> the items (data columns) that measure it. Each item belongs to one
        block; order of the mapping is the order of the constructs in every output.
    paths : mapping of str to sequence of str
        Construct -> its predecessors (the constructs with an arrow into it). Must be acyclic.
    modes : mapping of str to {"A", "B"}, optional
        Mode A (reflective: outer weights from simple covariances) or mode B (formative:
        outer weights from a multiple regression); blocks not named are mode A.
    scale : (float, float), optional
        Lowest and highest allowed answer. Answers outside it are rejected, and the 0-100
        index is ``100 * (score - min) / (max - min)``. Without it the index is not computed.
    """

    blocks: Mapping[str, Sequence[str]]
    paths: Mapping[str, Sequence[str]]
    modes: Mapping[str, str] | None = None
    scale: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", {str(k): tuple(map(str, v))
                                            for k, v in dict(self.blocks).items()})
        object.__setattr__(self, "paths", {str(k): tuple(map(str, v))
                                           for k, v in dict(self.paths).items()})
        object.__setattr__(self, "modes", {str(k): str(v).upper()
                                           for k, v in dict(self.modes or {}).items()})
        if self.scale is not None:
            lo, hi = (float(x) for x in self.scale)
            if not lo < hi:
                raise InputError(f"model scale: min ({lo:g}) must be below max ({hi:g})")
            object.__setattr__(self, "scale", (lo, hi))
        self._validate()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "model") -> PathModel:
        """Build from the parsed TOML layout (``blocks``, ``paths``, ``modes``, ``scale``)."""
        unknown = sorted(set(data) - {"blocks", "paths", "modes", "scale"})
        if unknown:
            raise InputError(f"{source}: unknown section(s) {unknown}; expected [blocks], "
                             "[paths] and optionally [modes] and [scale]")
        for key in ("blocks", "paths"):
            if not isinstance(data.get(key), Mapping) or not data[key]:
                raise InputError(f"{source}: a non-empty [{key}] table is required")
        for section in ("blocks", "paths"):
            for name, value in data[section].items():
                if isinstance(value, str) or not isinstance(value, Sequence):
                    raise InputError(f"{source}: [{section}] {name} must be a list of names, "
                                     f"got {value!r}")
        scale = data.get("scale")
        if scale is not None:
            if not isinstance(scale, Mapping) or set(scale) != {"min", "max"}:
                raise InputError(f"{source}: [scale] must have exactly min and max, got {scale!r}")
            scale = (scale["min"], scale["max"])
        try:
            return cls(blocks=data["blocks"], paths=data["paths"], modes=data.get("modes"),
                       scale=scale)
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | Path) -> PathModel:
        """Read a model file (see the module docstring for the layout)."""
        return cls.from_dict(load_toml(path, "model file"), str(Path(path)))

    @classmethod
    def ecsi(cls) -> PathModel:
        """The seven-factor telecom satisfaction model (ECSI on ``mobi``; all blocks mode A).

        Tenenhaus, Esposito Vinzi, Chatelin & Lauro (2005), "PLS path modeling",
        Computational Statistics & Data Analysis 48(1), 159-205, section 4.
        """
        return cls(
            blocks={
                "Image": [f"IMAG{i}" for i in range(1, 6)],
                "Expectation": [f"CUEX{i}" for i in range(1, 4)],
                "Quality": [f"PERQ{i}" for i in range(1, 8)],
                "Value": ["PERV1", "PERV2"],
                "Satisfaction": ["CUSA1", "CUSA2", "CUSA3"],
                "Complaints": ["CUSCO"],
                "Loyalty": ["CUSL1", "CUSL2", "CUSL3"],
            },
            paths={
                "Expectation": ["Image"],
                "Quality": ["Expectation"],
                "Value": ["Expectation", "Quality"],
                "Satisfaction": ["Image", "Expectation", "Quality", "Value"],
                "Complaints": ["Satisfaction"],
                "Loyalty": ["Image", "Satisfaction", "Complaints"],
            },
            scale=(1, 10),
        )

    # ------------------------------------------------------------------ derived structure
    @property
    def constructs(self) -> list[str]:
        """Construct names in block order."""
        return list(self.blocks)

    @property
    def items(self) -> list[str]:
        """All items, block after block."""
        return [item for block in self.blocks.values() for item in block]

    def mode(self, construct: str) -> str:
        return self.modes.get(construct, "A")

    def adjacency(self) -> np.ndarray:
        """``D[i, j] = 1`` when construct i is a predecessor of construct j."""
        index = {c: k for k, c in enumerate(self.constructs)}
        d = np.zeros((len(index), len(index)))
        for target, sources in self.paths.items():
            for source in sources:
                d[index[source], index[target]] = 1.0
        return d

    def endogenous(self) -> list[str]:
        """Constructs with at least one predecessor, in block order."""
        return [c for c in self.constructs if self.paths.get(c)]

    # ------------------------------------------------------------------ checks
    def _validate(self) -> None:
        seen: dict[str, str] = {}
        for construct, items in self.blocks.items():
            if not items:
                raise InputError(f"block '{construct}' has no items; give it at least one")
            for item in items:
                if item in seen:
                    raise InputError(f"item '{item}' is in two blocks, '{seen[item]}' and "
                                     f"'{construct}'; each item measures one construct")
                seen[item] = construct
        known = set(self.blocks)
        for target, sources in self.paths.items():
            for name in (target, *sources):
                if name not in known:
                    raise InputError(f"path {' -> '.join(sources)} -> {target}: construct "
                                     f"'{name}' has no block; known: {sorted(known)}")
            if target in sources:
                raise InputError(f"construct '{target}' is listed as its own predecessor")
        for construct, mode in self.modes.items():
            if construct not in known:
                raise InputError(f"[modes] names '{construct}', which has no block")
            if mode not in ("A", "B"):
                raise InputError(f"mode of '{construct}' must be \"A\" (reflective) or \"B\" "
                                 f"(formative), got {mode!r}")
        linked = {c for t, s in self.paths.items() if s for c in (t, *s)}
        for construct in self.blocks:
            if construct not in linked:
                raise InputError(f"construct '{construct}' is on no path; every construct "
                                 "needs a path to or from another one")
        cycle = self._find_cycle()
        if cycle:
            raise InputError("the paths form a cycle: " + " -> ".join(cycle) + "; a PLS path "
                             "model must be recursive, so remove one of these paths")

    def _find_cycle(self) -> list[str] | None:
        successors: dict[str, list[str]] = {c: [] for c in self.blocks}
        for target, sources in self.paths.items():
            for source in sources:
                successors[source].append(target)
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        stack: list[str] = []

        def visit(node: str) -> list[str] | None:
            state[node] = 1
            stack.append(node)
            for nxt in successors[node]:
                if state.get(nxt) == 1:
                    return stack[stack.index(nxt):] + [nxt]
                if nxt not in state:
                    found = visit(nxt)
                    if found:
                        return found
            stack.pop()
            state[node] = 2
            return None

        for construct in self.blocks:
            if construct not in state:
                found = visit(construct)
                if found:
                    return found
        return None

    def check_data(self, data: pd.DataFrame, source: str = "data",
                   drop_incomplete: bool = False) -> np.ndarray:
        """The model's items from ``data`` as a float array, after checking every answer.

        Raises `InputError` naming the items missing from ``data``, and `ValidationError`
        naming row (1-based, in data order) and item of every empty, non-numeric or
        out-of-scale answer. With ``drop_incomplete``, respondents with an empty answer are
        left out instead (answers that are present must still be valid).
        """
        missing = [item for item in self.items if item not in data.columns]
        if missing:
            raise InputError(f"{source}: item(s) {', '.join(missing)} of the model are not "
                             f"columns of the data; columns are {list(map(str, data.columns))}")
        values = np.column_stack([pd.to_numeric(data[item], errors="coerce")
                                  .to_numpy(dtype=float) for item in self.items])
        empty = data[self.items].isna().to_numpy()
        keep = ~empty.any(axis=1) if drop_incomplete else np.ones(len(data), dtype=bool)
        bad = np.isnan(values) & keep[:, None]
        expected = "a number"
        if self.scale is not None:
            lo, hi = self.scale
            bad |= ((values < lo) | (values > hi)) & keep[:, None]
            expected = f"a number from {lo:g} to {hi:g}"
        where = np.argwhere(bad)  # row-major: first rows first
        total = len(where)
        problems = []
        for pos, col in where[:_MAX_PROBLEMS]:
            value = data[self.items[col]].iloc[pos]
            value = None if pd.isna(value) else getattr(value, "item", lambda v=value: v)()
            problems.append(Problem(int(pos) + 1, self.items[col], value, expected))
        if total:
            raise ValidationError(source, "survey", problems, total, hint=(
                "Fix or drop these answers (PLS needs a complete answer from every respondent "
                "to every item; empty answers can be skipped with drop_incomplete / "
                "--drop-incomplete), or widen [scale] in the model file if the scale is wrong."))
        return values[keep]
