"""The Hub definition (plugin/tap-callrecords.yml) is what the Meltano Hub accepts, as the
Hub would keep it: it validates against the Hub's own JSON schema, the Hub's formatter
changes nothing in it, it uses the Hub's kinds and it carries the metadata a Hub page shows.

The Hub's schemas and formatter are copies (tests/fixtures/meltano_hub/README.md says
from where), validated the way the Hub's CI does it
(``utility_scripts/plugin_definitions/plugin_schema_validate.py``).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType

import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.conftest import ROOT, tap_command, write_json

PLUGIN_FILE = ROOT / "plugin" / "tap-callrecords.yml"
HUB = Path(__file__).parent / "fixtures" / "meltano_hub"


def definition() -> dict:
    return yaml.safe_load(PLUGIN_FILE.read_text())


def hub_validator() -> Draft7Validator:
    """The extractor schema, its references resolved by ``$id`` as the Hub's CI does."""
    resources = []
    for path in sorted((HUB / "schemas").rglob("*.schema.json")):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7)))
    schema = json.loads((HUB / "schemas" / "plugin_definitions" / "extractors.schema.json").read_text())
    return Draft7Validator(schema, registry=Registry().with_resources(resources))


def hub_formatter() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hub_yaml_lint", HUB / "yaml_lint.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_definition_validates_against_the_hubs_extractor_schema():
    errors = [f"{list(error.absolute_path)}: {error.message}"
              for error in hub_validator().iter_errors(definition())]

    assert errors == []


def test_the_hub_schema_catches_what_it_requires():  # the copy is the real schema, not a stub
    validator = hub_validator()
    broken = {key: value for key, value in definition().items() if key != "quality"}
    broken["settings"] = [{**broken["settings"][0], "kind": "datetime"}, *broken["settings"][1:]]

    messages = {error.message for error in validator.iter_errors(broken)}

    assert "'quality' is a required property" in messages
    assert any("'datetime' is not one of" in message for message in messages)


def test_the_hubs_formatter_changes_nothing():
    hub = hub_formatter()
    current = definition()

    formatted = hub.fix_yaml_dict_format(hub.fix_arrays(current))

    assert formatted == current
    assert list(formatted) == list(current)  # key order too: the Hub sorts keys at every level
    for setting, as_formatted in zip(current["settings"], formatted["settings"], strict=True):
        assert list(setting) == list(as_formatted)
    assert list(current["capabilities"]) == sorted(current["capabilities"])
    assert [setting["name"] for setting in current["settings"]] == sorted(
        setting["name"] for setting in current["settings"])


def test_the_file_is_laid_out_as_the_hub_lays_out_yaml():
    lines = PLUGIN_FILE.read_text().splitlines()

    assert all(not line.startswith(" -") for line in lines)  # lists not indented (yamllint: indent-sequences)
    assert all("{" not in line.split(":", 1)[0] for line in lines)  # no flow mappings (braces: forbid)
    assert all(line == line.rstrip() for line in lines)


def test_dates_are_the_hubs_date_kind_and_test_is_a_capability():
    settings = {setting["name"]: setting for setting in definition()["settings"]}

    assert settings["start_date"]["kind"] == settings["end_date"]["kind"] == "date_iso8601"
    assert "test" in definition()["capabilities"]
    about = json.loads(subprocess.run([*tap_command(), "--about", "--format", "json"], capture_output=True,
                                      text=True, cwd=ROOT, timeout=60).stdout)
    assert sorted(about["capabilities"]) == definition()["capabilities"]


def test_the_advertised_test_capability_works(sandbox, tmp_path):
    config = sandbox.configure_benchmark("voiso", 100)

    result = subprocess.run([*tap_command(), "--config", str(write_json(tmp_path / "config.json", config)),
                             "--test"], capture_output=True, text=True, cwd=ROOT, timeout=120)

    assert result.returncode == 0, result.stderr
    assert "tap-callrecords: voiso_cdr: ok: Voiso accepted the credentials" in result.stderr


def test_the_definition_carries_what_a_hub_page_shows():
    hub = definition()

    assert hub["logo_url"].startswith("/assets/logos/extractors/") and hub["logo_url"].endswith(".png")
    assert hub["domain_url"].startswith("https://")
    assert "meltano_sdk" in hub["keywords"]
    assert hub["maintenance_status"] in ("active", "beta", "development")
    assert hub["quality"] in ("gold", "silver", "bronze")
    assert hub["supported_python_versions"]
