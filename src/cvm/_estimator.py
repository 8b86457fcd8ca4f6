"""The one contract of everything cvm fits (lifetime models, PLS, the churn classifier).

After scikit-learn's: settings are keyword arguments of ``__init__``, stored as given and
checked at ``fit`` against ``_parameter_constraints``; ``fit`` returns ``self``; learned
values end in ``_``; `clone` makes an unfitted copy with the same settings;
``summary(level=0.95)`` gives estimate, std_err, ci_low and ci_high where they exist;
``to_dict()`` is JSON-ready. A bad setting raises `InvalidParameterError` with the message
"The 'x' parameter of Y must be ... Got ... instead."
"""

from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import stats

from cvm.errors import InvalidParameterError, NotFittedError

__all__ = ["Estimator", "Interval", "Options", "clone", "normal_interval"]


@dataclass(frozen=True)
class Interval:
    """A number of ``kind`` (int or float) in [left, right]; None leaves a side open-ended;
    ``closed`` says which ends belong: "both", "left", "right" or "neither"."""

    kind: type
    left: float | None
    right: float | None
    closed: str = "both"

    def __contains__(self, value: Any) -> bool:
        if isinstance(value, bool | np.bool_):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if not isinstance(value, numbers.Real) or np.isnan(value):
            return False
        lo_ok = (self.left is None or value > self.left
                 or (value == self.left and self.closed in ("both", "left")))
        hi_ok = (self.right is None or value < self.right
                 or (value == self.right and self.closed in ("both", "right")))
        return lo_ok and hi_ok

    def __str__(self) -> str:
        noun = "an int" if self.kind is int else "a float"
        if self.left is not None and self.right is not None:
            lb = "[" if self.closed in ("both", "left") else "("
            rb = "]" if self.closed in ("both", "right") else ")"
            return f"{noun} in the range {lb}{self.left}, {self.right}{rb}"
        if self.left is not None:
            return f"{noun} {'>=' if self.closed in ('both', 'left') else '>'} {self.left}"
        if self.right is not None:
            return f"{noun} {'<=' if self.closed in ('both', 'right') else '<'} {self.right}"
        return noun


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values."""

    values: tuple

    def __contains__(self, value: Any) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values)

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


def _describe(constraints: list) -> str:
    parts = ["None" if c is None else "a boolean" if c is bool else
             "a callable" if c is callable else str(c) for c in constraints]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _satisfies(value: Any, constraint: Any) -> bool:
    if constraint is None:
        return value is None
    if constraint is bool:
        return isinstance(value, bool | np.bool_)
    if constraint is callable:
        return callable(value)
    if isinstance(constraint, type):
        return isinstance(value, constraint)
    return value in constraint


def normal_interval(estimate: Any, std_err: Any, level: float) -> tuple[Any, Any]:
    """The two-sided ``level`` Wald interval estimate -/+ z * std_err."""
    if not 0 < level < 1:
        raise InvalidParameterError(f"The 'level' parameter of summary must be a float in the "
                                    f"range (0, 1). Got {level!r} instead.")
    z = stats.norm.ppf(0.5 + level / 2)
    return estimate - z * std_err, estimate + z * std_err


class Estimator:
    """Base of every fitted model: settings, checks, clone, and the not-fitted guard.

    Subclasses declare ``_parameter_constraints``: for each ``__init__`` keyword, a list of
    what it may be (an `Interval`, `Options`, a type, ``bool``, ``callable`` or None).
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {}

    @classmethod
    def _param_keys(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The settings given to ``__init__``."""
        return {k: getattr(self, k) for k in self._param_keys()}

    def set_params(self, **params: Any):
        """Change settings (checked at the next ``fit``)."""
        keys = self._param_keys()
        for key, value in params.items():
            if key not in keys:
                raise InvalidParameterError(
                    f"{type(self).__name__} has no parameter {key!r}; its parameters are "
                    f"{', '.join(keys) or 'none'}")
            setattr(self, key, value)
        return self

    def _validate_params(self) -> None:
        """Check every setting against ``_parameter_constraints`` (called by ``fit``)."""
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name)
            if not any(_satisfies(value, c) for c in constraints):
                raise InvalidParameterError(
                    f"The '{name}' parameter of {type(self).__name__} must be "
                    f"{_describe(constraints)}. Got {value!r} instead.")

    def _is_fitted(self) -> bool:
        return any(k.endswith("_") and not k.startswith("_") for k in vars(self))

    def _check_fitted(self) -> None:
        if not self._is_fitted():
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit() "
                                 "first")

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in
                    inspect.signature(type(self).__init__).parameters.values()}
        changed = {k: v for k, v in self.get_params().items() if not _same(v, defaults.get(k))}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):  # arrays and frames
        return a is b


def clone(estimator: Estimator) -> Estimator:
    """An unfitted estimator with the same settings."""
    return type(estimator)(**estimator.get_params())
