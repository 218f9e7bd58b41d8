"""meltano.yml declares every tap setting, secrets as sensitive (so Meltano masks them)."""

from __future__ import annotations

import yaml

from tap_callrecords.tap import TapCallRecords
from tap_callrecords.vendors import VENDORS
from tests.conftest import ROOT


def flatten(properties: dict, prefix: str = "") -> dict[str, dict]:
    settings: dict[str, dict] = {}
    for name, prop in properties.items():
        if "properties" in prop:
            settings.update(flatten(prop["properties"], f"{prefix}{name}."))
        else:
            settings[f"{prefix}{name}"] = prop
    return settings


def test_meltano_yml_declares_every_setting_and_marks_secrets():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    declared = {s["name"]: s for s in project["plugins"]["extractors"][0]["settings"]}
    tap_settings = flatten(TapCallRecords.config_jsonschema["properties"])
    own = {name: prop for name, prop in tap_settings.items()
           if name.split(".")[0] in {"start_date", "end_date", "lookback_minutes", "request_timeout_seconds",
                                     "max_retries", "retry_initial_wait_seconds", "max_retry_after_seconds"}
           or name.split(".")[0] in {vendor.key for vendor in VENDORS}}

    assert set(own) <= set(declared), sorted(set(own) - set(declared))
    secrets = {name for name, prop in own.items() if prop.get("secret")}
    assert secrets == {name for name, s in declared.items() if s.get("sensitive")}
    assert {"voiso.api_key", "smartflo.password", "smartflo.api_token", "zoom.client_secret",
            "talkdesk.client_secret"} <= secrets
