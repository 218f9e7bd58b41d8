"""The tap's Meltano plugin definition, generated from its own settings schema.

    python -m tap_callrecords.plugin > plugin/tap-callrecords.yml

prints the definition in Meltano Hub's format (what ``meltano add extractor
tap-callrecords --from-ref plugin/tap-callrecords.yml`` reads); ``scripts/generate.py``
writes it, and the extractor block of ``meltano.yml`` from the same function, and a test
fails when either drifts from the settings schema.

Every setting is declared with its ``kind``, ``label``, ``description`` and
``sensitive``; settings of a vendor's object are dotted (``voiso.api_key``), which
Meltano nests back into the tap's config. Two choices keep Meltano 4 working:

- no ``value`` (default) is declared: Meltano would write every default into the tap's
  config, and a vendor's settings object that is present means "sync this vendor". The
  tap fills its defaults itself; each description states the default;
- numbers are declared ``integer``: Meltano 4's ``decimal`` kind fails when it writes the
  tap's config. A fractional value can still be given in a config file.

The Hub definition is in the Hub's own form: it validates against the Hub's JSON schema
(``schemas/plugin_definitions/extractors.schema.json`` in ``meltano/hub``), and the Hub's
formatter (``hub-utils/hub_utils/yaml_lint.py``) would change nothing in it: keys sorted at
every level, capabilities sorted, settings sorted by name, each settings group sorted.
"""

from __future__ import annotations

import sys
import typing as t

import yaml

from tap_callrecords.tap import COMMON_SETTINGS, TapCallRecords
from tap_callrecords.vendors import VENDORS

#: Where the tap is published. ``example-org`` is a placeholder: replace it with the real
#: GitHub organisation (here, once) and run ``scripts/generate.py`` when it is published.
ORGANISATION = "example-org"
REPOSITORY = f"https://github.com/{ORGANISATION}/tap-callrecords"
PIP_URL = f"git+{REPOSITORY}.git"

#: The Hub's logo of the tap: a file the Hub submission adds to the Hub's
#: ``static/assets/logos/extractors/`` (the path the Hub's own tooling gives ``tap-callrecords``).
LOGO_URL = "/assets/logos/extractors/callrecords.png"
#: The Hub rates an SDK-based community variant ``silver`` (hub-utils ``get_quality``).
QUALITY = "silver"

#: Settings the tap reads as ISO 8601 dates or date-times (:func:`~tap_callrecords.settings.
#: parse_date_setting`). Their schema is a plain string, so that the SDK's validator accepts
#: a date alone; Meltano's ``date_iso8601`` kind passes ISO values through unchanged and turns
#: a relative date (``30 days ago``) into one, as the Hub's tooling declares these two.
DATE_SETTINGS = ("start_date", "end_date")

#: Words a label spells in capitals (or otherwise) rather than capitalised.
_WORDS = {"api": "API", "url": "URL", "id": "ID", "ids": "IDs", "did": "DID", "iso": "ISO",
          "oauth": "OAuth", "cc": "CC"}

_KINDS = {"string": "string", "integer": "integer", "number": "integer", "boolean": "boolean",
          "array": "array", "object": "object"}


def _types(schema: t.Mapping[str, t.Any]) -> list[str]:
    declared = schema.get("type")
    if declared is None:
        alternatives = schema.get("oneOf") or schema.get("anyOf") or []
        found: list[str] = []
        for alternative in alternatives:
            if isinstance(alternative, dict):
                found.extend(name for name in _types(alternative) if name not in found)
        return found
    names = [declared] if isinstance(declared, str) else list(declared)
    return [name for name in names if name != "null"]


def kind(schema: t.Mapping[str, t.Any]) -> str:
    """Meltano's kind for a property schema."""
    if schema.get("enum"):
        return "options"
    types = _types(schema)
    if len(types) != 1:
        return "string"
    if types[0] == "string" and schema.get("format") == "date-time":
        return "date_iso8601"
    return _KINDS[types[0]]


def label(name: str) -> str:
    """``voiso.api_key`` -> ``Voiso API Key``; a vendor's settings take the vendor's label."""
    vendors = {vendor.key: vendor.label for vendor in VENDORS}
    first, _, rest = name.partition(".")
    words = [vendors[first]] if first in vendors and rest else []
    for part in (rest if words else name).replace(".", "_").split("_"):
        if part:
            words.append(_WORDS.get(part, part.capitalize()))
    return " ".join(words)


def _leaves(properties: t.Mapping[str, t.Any], prefix: str = "") -> t.Iterator[tuple[str, dict]]:
    """Every setting: nested objects become dotted names; a free-form map is one setting."""
    for name, schema in properties.items():
        nested = schema.get("properties")
        free_form = isinstance(schema.get("additionalProperties"), dict)
        if nested and not free_form:
            yield from _leaves(nested, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", schema


def _description(schema: t.Mapping[str, t.Any]) -> str:
    text = " ".join(str(schema.get("description") or schema.get("title") or "").split())
    default = schema.get("default")
    if default is not None and not isinstance(default, dict | list):
        text += f" Default: {default}."
    return text.strip()


def settings() -> list[dict[str, t.Any]]:
    """Every setting of the tap (the SDK's built-in ones included), in schema order."""
    schema = TapCallRecords._get_about_info().settings
    declared = []
    for name, prop in _leaves(schema["properties"]):
        setting: dict[str, t.Any] = {
            "name": name,
            "kind": "date_iso8601" if name in DATE_SETTINGS else kind(prop),
            "label": str(prop["title"]) if prop.get("title") else label(name),
            "description": _description(prop),
            "sensitive": bool(prop.get("secret") or prop.get("writeOnly")),
        }
        if setting["kind"] == "options":
            setting["options"] = [{"label": str(value), "value": value} for value in prop["enum"]]
        declared.append(setting)
    return declared


def setting_groups() -> list[list[str]]:
    """Meltano's ``settings_group_validation``: the common required settings plus one way
    to configure one vendor (the tap syncs every vendor whose settings are present)."""
    common = list(COMMON_SETTINGS.to_dict().get("required", []))
    return [common + group for vendor in VENDORS for group in vendor.required_groups()]


def capabilities() -> list[str]:
    """What the tap advertises in ``--about``."""
    return [str(getattr(capability, "value", capability)) for capability in TapCallRecords.capabilities]


def hub_definition() -> dict[str, t.Any]:
    """The plugin definition, in Meltano Hub's format (see the module's docstring)."""
    description = " ".join((TapCallRecords.__doc__ or "").split())
    definition = {
        "name": TapCallRecords.name,
        "namespace": "tap_callrecords",
        "variant": ORGANISATION,
        "label": "Call Records (" + ", ".join(vendor.label for vendor in VENDORS) + ")",
        "description": description,
        "logo_url": LOGO_URL,
        "domain_url": f"{REPOSITORY}#readme",
        "keywords": ["meltano_sdk", "api", "call detail records", "contact center",
                     *(vendor.key for vendor in VENDORS)],
        "maintenance_status": "active",
        "quality": QUALITY,
        "repo": REPOSITORY,
        "docs": f"{REPOSITORY}#readme",
        "pip_url": PIP_URL,
        "executable": TapCallRecords.name,
        "supported_python_versions": TapCallRecords._get_about_info().supported_python_versions,
        "capabilities": sorted(capabilities()),
        "settings": [dict(sorted(setting.items()))
                     for setting in sorted(settings(), key=lambda setting: setting["name"])],
        "settings_group_validation": [sorted(group) for group in setting_groups()],
    }
    return dict(sorted(definition.items()))


def project_extractor(current: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """``meltano.yml``'s extractor block: the project's own keys (``pip_url: -e .``,
    ``config``) kept, everything the definition says replaced."""
    generated = {
        "name": TapCallRecords.name,
        "namespace": "tap_callrecords",
        "pip_url": current.get("pip_url", "-e ."),
        "executable": TapCallRecords.name,
        "capabilities": capabilities(),
        "settings": settings(),
        "settings_group_validation": setting_groups(),
    }
    return {**generated, **{key: value for key, value in current.items() if key not in generated}}


def dump(data: t.Any) -> str:
    """YAML as the generated files are written (the Hub's style: lists not indented)."""
    return yaml.safe_dump(data, sort_keys=False, width=100, allow_unicode=True)


def main() -> None:
    """Print the Hub definition."""
    sys.stdout.write(dump(hub_definition()))


if __name__ == "__main__":
    main()

