"""The survey package's public API is complete and its settings are documented."""

from __future__ import annotations

import importlib

import cvm.survey as loyalty
from cvm.config import Settings, SurveySettings

MODULES = ["ahp", "answers", "behaviour", "classes", "drivers", "fuzzy", "indicators", "nps",
           "nps_groups", "outcomes", "pls", "pls.estimator", "pls.spec", "satisfaction_index",
           "servqual"]


def test_every_public_name_is_exported():
    for name in MODULES:
        module = importlib.import_module(f"cvm.survey.{name}")
        for public in module.__all__:
            assert public in loyalty.__all__, f"cvm.survey.{name}.{public} not exported"
            assert getattr(loyalty, public) is getattr(module, public)


def test_survey_settings_are_documented_and_in_settings():
    for name, info in SurveySettings.model_fields.items():
        assert info.description and len(info.description) > 20, name
    documented = {row[0] for row in Settings.documented()}
    assert {f"survey.{n}" for n in SurveySettings.model_fields} <= documented
