"""The one contract every fitted model of cvm passes (see `cvm._estimator`).

Each capability's tests call `check_estimator` with a factory and a fit function for each of
its estimators, so a model that drifts from the contract fails in its own folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from cvm._estimator import clone
from cvm.errors import InvalidParameterError, NotFittedError


def check_estimator(make: Callable[[], Any], fit: Callable[[Any], Any],
                    bad_param: tuple[str, Any]) -> None:
    """``make()`` gives an unfitted estimator, ``fit(est)`` returns ``est.fit(...)`` on real
    data, ``bad_param`` is a (name, value) the estimator must refuse at fit."""
    est = make()
    name = type(est).__name__

    # settings: clone-able, unknown names refused
    params = est.get_params()
    twin = clone(est)
    assert type(twin) is type(est) and twin is not est
    assert twin.get_params().keys() == params.keys()
    for key, value in params.items():
        assert twin.get_params()[key] is value or twin.get_params()[key] == value, key
    with pytest.raises(InvalidParameterError, match="has no parameter 'no_such_setting'"):
        make().set_params(no_such_setting=1)

    # not fitted: summary refuses
    with pytest.raises(NotFittedError):
        est.summary()

    # fit returns self; what it learned ends in _
    before = set(vars(est))
    assert fit(est) is est
    learned = set(vars(est)) - before
    public = sorted(k for k in learned if not k.startswith("_"))
    assert public, f"{name}.fit set no learned attribute"
    assert all(k.endswith("_") for k in public), [k for k in public if not k.endswith("_")]
    assert est.get_params().keys() == params.keys()

    # summary: estimate, std_err and an interval that narrows with the level
    s95, s90 = est.summary(), est.summary(level=0.9)
    for col in ("estimate", "std_err", "ci_low", "ci_high"):
        assert col in s95.columns, (name, col)
    w95 = (s95["ci_high"] - s95["ci_low"]).to_numpy(dtype=float)
    w90 = (s90["ci_high"] - s90["ci_low"]).to_numpy(dtype=float)
    scale = np.maximum(1.0, np.abs(s95["estimate"].to_numpy(dtype=float)))
    finite = np.isfinite(w95) & np.isfinite(w90) & (w95 > 1e-12 * scale)  # not rounding noise
    assert finite.any(), f"{name}.summary() has no finite interval"
    assert np.all(w90[finite] < w95[finite])
    np.testing.assert_allclose(s90["estimate"], s95["estimate"])

    # to_dict: JSON-ready
    json.dumps(est.to_dict())

    # a bad setting is refused at fit with the one message shape
    key, value = bad_param
    bad = make().set_params(**{key: value})
    with pytest.raises(InvalidParameterError,
                       match=rf"The '{key}' parameter of {name} must be .* Got .* instead\."):
        fit(bad)
