"""Opportunity rules as data: the TOML file, checked into typed rules.

The defaults (``rules.toml`` beside this module) are documented in docs/opportunities.md;
a workspace's own ``opportunities.toml`` replaces them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cvm._toml import load_toml
from cvm.errors import ConfigError

__all__ = ["Rules", "Rule", "Condition", "load_rules", "DEFAULT_RULES", "RULES_FILE"]

DEFAULT_RULES = Path(__file__).with_name("rules.toml")
#: The workspace's own rules, when present.
RULES_FILE = "opportunities.toml"
_OPS = ("ge", "gt", "le", "lt", "eq", "in")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Condition(_Strict):
    """``score`` compared with one of ge, gt, le, lt, eq or in; a blank value never
    meets a condition."""

    score: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    eq: float | str | None = None
    in_: list[str] | None = Field(None, alias="in")

    @model_validator(mode="after")
    def _one(self) -> Condition:
        given = [op for op in _OPS if getattr(self, "in_" if op == "in" else op) is not None]
        if len(given) != 1:
            raise ValueError(f"condition on {self.score!r} needs exactly one of "
                             f"{', '.join(_OPS)}, got {given or 'none'}")
        return self

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        if self.score not in frame.columns:
            return np.zeros(len(frame), dtype=bool)
        col = frame[self.score]
        if self.in_ is not None:
            return col.isin(self.in_).to_numpy()
        if self.eq is not None:
            return (col == self.eq).fillna(False).to_numpy(dtype=bool)
        num = pd.to_numeric(col, errors="coerce")
        for op, fn in (("ge", num.ge), ("gt", num.gt), ("le", num.le), ("lt", num.lt)):
            bound = getattr(self, op)
            if bound is not None:
                return fn(bound).fillna(False).to_numpy(dtype=bool)
        raise AssertionError("unreachable: a condition has one operator")


class Rule(_Strict):
    """One kind of opportunity."""

    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    action: str
    channel: Literal["phone", "email", "sms", "visit", "mail", "app"]
    due_days: int = Field(ge=0, le=365)
    weight: float = Field(gt=0)
    propensity: str | float
    value: str | float
    all: list[Condition] = Field(default_factory=list)
    any: list[Condition] = Field(default_factory=list)

    def eligible(self, frame: pd.DataFrame) -> np.ndarray:
        ok = np.ones(len(frame), dtype=bool)
        for c in self.all:
            ok &= c.mask(frame)
        if self.any:
            some = np.zeros(len(frame), dtype=bool)
            for c in self.any:
                some |= c.mask(frame)
            ok &= some
        return ok

    def _term(self, frame: pd.DataFrame, what: str | float) -> np.ndarray:
        if isinstance(what, str):
            if what not in frame.columns:
                return np.full(len(frame), np.nan)
            return pd.to_numeric(frame[what], errors="coerce").to_numpy(dtype=float)
        return np.full(len(frame), float(what))

    def priority(self, frame: pd.DataFrame) -> np.ndarray:
        """propensity x value x weight; a blank propensity or value counts as 0."""
        p = np.nan_to_num(self._term(frame, self.propensity))
        v = np.nan_to_num(self._term(frame, self.value))
        return p * np.maximum(v, 0.0) * self.weight


class Policy(_Strict):
    max_open_per_customer: int = Field(2, ge=1)
    max_contacts_per_channel_month: int = Field(1, ge=1)
    suppress_days_after_decline: int = Field(90, ge=0)
    control_share: float = Field(0.10, ge=0, lt=1)
    expiry_days: int = Field(30, ge=1)


class Owners(_Strict):
    account_manager_field: str = "account_manager"
    account_manager_queue: str = "account-managers"
    branch_prefix: str = "branch:"
    call_centre: str = "call-centre"
    capacity: int = Field(200, ge=1)
    staff: dict[str, list[str]] = Field(default_factory=dict)


class Rules(_Strict):
    policy: Policy = Field(default_factory=Policy)
    owners: Owners = Field(default_factory=Owners)
    rules: list[Rule]

    @model_validator(mode="after")
    def _distinct(self) -> Rules:
        kinds = [r.kind for r in self.rules]
        dup = sorted({k for k in kinds if kinds.count(k) > 1})
        if dup:
            raise ValueError(f"each kind may have one rule; repeated: {', '.join(dup)}")
        return self


def load_rules(path: str | Path | None = None) -> Rules:
    """The rules in ``path`` (default: the shipped defaults); `ConfigError` naming the
    file and the option for a bad one."""
    path = Path(path) if path is not None else DEFAULT_RULES
    data = load_toml(path, "opportunity rules", ConfigError)
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                          for e in exc.errors())
        raise ConfigError(f"{path}: {where}") from None
