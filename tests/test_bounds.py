"""Settings bounds are written once, in the settings schema: the check that refuses a value
out of bounds and the sentence the docs show are both derived from it (in-process)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tap_callrecords.core.bounds import accepted, is_bounded
from tap_callrecords.settings import validate_settings
from tap_callrecords.tap import TapCallRecords
from tap_callrecords.vendors import VENDORS

SCHEMA = TapCallRecords._get_about_info().settings
BY_KEY = {vendor.key: vendor for vendor in VENDORS}


def usable_config(vendor_key: str = "voiso") -> dict:
    """The smallest config that passes every check, with one vendor configured."""
    [first_group, *_] = BY_KEY[vendor_key].required_groups()
    return {"start_date": "2024-07-01",
            vendor_key: {name.split(".", 1)[1]: "x" for name in first_group}}


def bounded_settings() -> list[tuple[str, str | None, dict]]:
    """``(name, vendor key or None, property schema)`` of every setting with a bound."""
    found = []
    for name, prop in SCHEMA["properties"].items():
        if name in BY_KEY:
            found.extend((f"{name}.{key}", name, sub) for key, sub in prop["properties"].items())
        else:
            found.append((name, None, prop))
    return [setting for setting in found if is_bounded(setting[2])]


def problems(name: str, vendor_key: str | None, value) -> list[str]:
    config = usable_config(vendor_key or "voiso")
    if vendor_key:
        config[vendor_key][name.split(".", 1)[1]] = value
    else:
        config[name] = value
    report = validate_settings(config, SCHEMA, VENDORS)
    assert report.warnings == []
    return report.errors


def test_the_bounds_are_in_the_schema():
    voiso = BY_KEY["voiso"].settings.to_dict()["properties"]
    zoom = BY_KEY["zoom"].settings.to_dict()["properties"]
    talkdesk = BY_KEY["talkdesk"].settings.to_dict()["properties"]
    common = SCHEMA["properties"]

    assert (voiso["window_days"]["minimum"], voiso["window_days"]["maximum"]) == (1, 31)
    assert (voiso["per_page"]["minimum"], voiso["per_page"]["maximum"]) == (1, 10_000)
    assert zoom["direction"]["enum"] == ["inbound", "outbound"]
    assert zoom["view_type"]["enum"] == ["summary", "detail"]
    assert zoom["user_ids"]["maxItems"] == 20 and zoom["user_ids"]["items"]["minLength"] == 1
    assert zoom["max_requests_per_second"]["exclusiveMinimum"] == 0
    assert talkdesk["region"]["enum"] == ["ca", "eu", "us"]
    assert (talkdesk["max_concurrent_jobs"]["minimum"], talkdesk["max_concurrent_jobs"]["maximum"]) == (1, 15)
    assert common["lookback_minutes"]["minimum"] == 0
    assert (common["max_retries"]["minimum"], common["max_retries"]["maximum"]) == (1, 100)


@pytest.mark.parametrize(("name", "vendor_key", "prop"), bounded_settings(),
                         ids=[name for name, _, _ in bounded_settings()])
def test_every_bound_is_enforced_and_documented_from_the_schema(name, vendor_key, prop):
    expected = accepted(prop)
    assert expected
    assert prop["description"].endswith(f" {expected[0].upper()}{expected[1:]}.")  # docs show it
    assert problems(name, vendor_key, prop.get("default")) == []

    outside = []
    if prop.get("minimum") is not None:
        outside.append(prop["minimum"] - 1)
        assert problems(name, vendor_key, prop["minimum"]) == []
    if prop.get("maximum") is not None:
        outside.append(prop["maximum"] + 1)
        assert problems(name, vendor_key, prop["maximum"]) == []
    if prop.get("exclusiveMinimum") is not None:
        outside.append(prop["exclusiveMinimum"])
        assert problems(name, vendor_key, Decimal("0.5") + prop["exclusiveMinimum"]) == []
    if prop.get("enum"):
        outside.append("not-" + str(prop["enum"][0]))
        assert all(problems(name, vendor_key, choice) == [] for choice in prop["enum"])
    if prop.get("maxItems") is not None:
        assert problems(name, vendor_key, ["x"] * prop["maxItems"]) == []
        assert problems(name, vendor_key, ["x"] * (prop["maxItems"] + 1)) == [
            f"{name} has {prop['maxItems'] + 1} entries; {BY_KEY[vendor_key].label} accepts at most "
            f"{prop['maxItems']}."]
    if prop.get("items", {}).get("minLength"):
        outside.append(["x", ""])
    assert outside
    for value in outside:
        assert problems(name, vendor_key, value) == [f"{name} is {value!r}; it must be {expected}."]


@pytest.mark.parametrize(("schema", "words"), [
    ({"type": ["integer", "null"], "minimum": 1, "maximum": 31}, "a whole number from 1 to 31"),
    ({"type": ["integer"], "minimum": 0}, "a whole number of at least 0"),
    ({"type": ["number", "null"], "exclusiveMinimum": 0}, "a number greater than 0"),
    ({"type": ["number"], "exclusiveMinimum": 0.5, "maximum": 2},
     "a number greater than 0.5 and of at most 2"),
    ({"type": ["string", "null"], "enum": ["ca", "eu", "us"]}, "one of ca, eu, us"),
    ({"type": "array", "items": {"type": ["string"], "minLength": 1}, "maxItems": 20},
     "a list of at most 20 non-empty strings"),
    ({"type": ["boolean", "null"]}, "true or false"),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, None),
])
def test_what_a_schema_accepts_in_words(schema, words):
    assert accepted(schema) == words


def test_a_secret_is_never_repeated_in_its_message():
    config = usable_config("zoom")
    config["zoom"]["client_secret"] = 12345678

    assert validate_settings(config, SCHEMA, VENDORS).errors == [
        "zoom.client_secret is a number; it must be a string."]
