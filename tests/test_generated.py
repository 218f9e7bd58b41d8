"""Files generated from the tap's own declarations never drift from them: the Meltano Hub
plugin definition, meltano.yml's extractor block and the README's tables; and what
``--about`` says of the streams."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from tap_callrecords.plugin import PIP_URL, hub_definition
from tap_callrecords.tap import TapCallRecords
from tap_callrecords.vendors import VENDORS
from tests.conftest import ROOT, tap_command
from tests.test_meltano_project import flatten

PLUGIN_FILE = ROOT / "plugin" / "tap-callrecords.yml"


def test_generated_files_match_their_generator():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "generate.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_hub_definition_declares_every_setting_for_meltano():
    definition = yaml.safe_load(PLUGIN_FILE.read_text())
    assert definition == hub_definition()
    assert definition["name"] == "tap-callrecords" and definition["namespace"] == "tap_callrecords"
    assert definition["pip_url"] == PIP_URL and PIP_URL.startswith("git+https://github.com/")
    assert definition["executable"] == "tap-callrecords"
    assert {"about", "catalog", "discover", "state", "stream-maps", "schema-flattening"} <= set(
        definition["capabilities"])

    declared = {setting["name"]: setting for setting in definition["settings"]}
    schema = flatten(TapCallRecords._get_about_info().settings["properties"])
    own = {name for name in schema if not name.startswith(("stream_maps.", "faker_config", "batch_config",
                                                           "stream_map_config", "flattening_"))}
    assert own <= set(declared), sorted(own - set(declared))
    for setting in declared.values():
        assert {"name", "kind", "label", "description", "sensitive"} <= set(setting), setting
        assert setting["description"] and setting["label"]
        assert "value" not in setting  # a default would configure every vendor (see plugin.py)
        assert setting["kind"] != "decimal"  # Meltano 4 cannot write it into the config
    assert {name for name, s in declared.items() if s["sensitive"]} == {
        name for name, prop in schema.items() if prop.get("secret")}
    assert declared["voiso.api_key"]["label"] == "Voiso API Key"
    assert declared["talkdesk.region"]["kind"] == "options"
    assert [option["value"] for option in declared["talkdesk.region"]["options"]] == ["ca", "eu", "us"]

    groups = definition["settings_group_validation"]
    assert sorted(["start_date", "smartflo.api_token"]) in groups  # each group sorted, as the Hub keeps it
    assert sorted(["start_date", "smartflo.email", "smartflo.password"]) in groups
    for vendor in VENDORS:
        assert any(name.startswith(f"{vendor.key}.") for group in groups for name in group)
    assert all(name in declared for group in groups for name in group)


def test_about_lists_every_stream_with_its_vendor_keys_and_replication_key():
    result = subprocess.run([*tap_command(), "--about", "--format", "json"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    about = json.loads(result.stdout)

    assert [(s["stream"], s["vendor"], s["settings"], s["primary_keys"], s["replication_key"])
            for s in about["streams"]] == [
        ("voiso_cdr", "Voiso", "voiso", ["uuid"], "timestamp"),
        ("voiso_cdrs_v4", "Voiso", "voiso", ["id"], "started_at"),
        ("smartflo_call_records", "Tata Smartflo", "smartflo", ["id"], "start_time"),
        ("zoom_voice_calls", "Zoom Contact Center", "zoom", ["engagement_id"], "start_time"),
        ("zoom_voice_call_legs", "Zoom Contact Center", "zoom", ["engagement_id", "leg_number"],
         "call_start_time"),
        ("talkdesk_calls", "Talkdesk", "talkdesk", ["interaction_id"], "start_time"),
        ("talkdesk_contacts", "Talkdesk", "talkdesk", ["contact_id"], "started_at"),
        ("talkdesk_ring_attempts", "Talkdesk", "talkdesk", ["ring_attempt_id"], "ring_started_at_time"),
        ("talkdesk_studio_flow_executions", "Talkdesk", "talkdesk", ["flow_execution_step_id"], "timestamp"),
        ("talkdesk_user_status", "Talkdesk", "talkdesk", ["user_status_id"], "status_start_at"),
        ("call_records", "every configured vendor", "any", ["vendor", "call_id"], "started_at"),
    ]
    assert "schema-flattening" in about["capabilities"]

    markdown = subprocess.run([*tap_command(), "--about", "--format", "markdown"],
                              capture_output=True, text=True, cwd=ROOT, timeout=60).stdout
    readme = (ROOT / "README.md").read_text()
    for line in markdown.splitlines():
        if line.startswith("| "):  # every row of both tables, streams and settings
            assert line in readme, line
