"""Settings bounds, written once: in the settings schema.

A setting's type and bounds (``minimum``, ``maximum``, ``exclusiveMinimum``, ``enum``
from ``allowed_values``, an item's ``minLength``, ``maxItems``) are declared on its
``singer_sdk.typing`` property and nowhere else. Two things are derived from that one
declaration, in the same words:

- the sentence the docs show (:func:`describe_bounds` appends it to the description,
  which ``--about``, the README's tables, ``meltano.yml`` and the Hub definition all
  print): "A whole number from 1 to 31.";
- the user's one-line message when a value breaks it (:func:`check_settings`): the
  setting, what it is, what it must be ("<vendor>.window_days is 32; it must be a whole
  number from 1 to 31.").

A schema construct read here is checked here; any other (``anyOf``, ``const``, a
``pattern``) is left to the SDK's JSON-schema validation, which runs once these checks
pass. Checks a schema cannot express (a phone region, a time zone) are code, given per
setting as a :data:`SettingCheck`.
"""

from __future__ import annotations

import operator
import typing as t
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal

if t.TYPE_CHECKING:
    from singer_sdk import typing as th

#: A check of one setting that a schema cannot express: ``(name, value)`` to the user's
#: message, or ``None`` when the value is fine (``value`` is ``None`` when it is unset).
SettingCheck = Callable[[str, t.Any], "str | None"]

#: The schema keywords that bound a value beyond its type: a property with one of them
#: (or whose items have one) gets the accepted values in its description.
BOUND_KEYWORDS = frozenset({"enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                            "minLength", "maxItems"})

_IS_TYPE: dict[str, Callable[[t.Any], bool]] = {
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": lambda value: isinstance(value, int | float | Decimal) and not isinstance(value, bool),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "array": lambda value: isinstance(value, list),
    "object": lambda value: isinstance(value, Mapping),
}
#: Each JSON type as one value and as several, in the words of the messages.
_NOUNS = {"integer": ("a whole number", "whole numbers"), "number": ("a number", "numbers"),
          "string": ("a string", "strings"), "boolean": ("true or false", "booleans"),
          "array": ("a list", "lists"), "object": ("an object", "objects")}
#: Each numeric bound: its keyword, its words, and the test a value must pass.
_NUMERIC_BOUNDS: tuple[tuple[str, str, Callable[[t.Any, t.Any], bool]], ...] = (
    ("minimum", "of at least", operator.ge),
    ("exclusiveMinimum", "greater than", operator.gt),
    ("maximum", "of at most", operator.le),
    ("exclusiveMaximum", "less than", operator.lt),
)
#: What a secret's message says instead of its value (``bool`` before ``int``, its base).
_KINDS: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("a boolean", bool), ("a number", (int, float, Decimal)), ("a string", str), ("a list", list),
    ("an object", Mapping),
)


def _json_type(schema: Mapping[str, t.Any]) -> str | None:
    """The one JSON type ``schema`` declares besides ``null``; ``None`` for none or several."""
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else list(declared or ())
    types = [name for name in names if name != "null"]
    return types[0] if len(types) == 1 and types[0] in _IS_TYPE else None


def _number(value: float | Decimal) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _numeric_range(schema: Mapping[str, t.Any]) -> str:
    """`` from 1 to 31``, `` of at least 0``, `` greater than 0``, or nothing."""
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f" from {_number(low)} to {_number(high)}"
    words = [f"{phrase} {_number(schema[keyword])}" for keyword, phrase, _ in _NUMERIC_BOUNDS
             if schema.get(keyword) is not None]
    return " " + " and ".join(words) if words else ""


def _noun(schema: Mapping[str, t.Any], *, plural: bool) -> str | None:
    """A value (or values) of ``schema`` in words; ``None`` for a schema not read here."""
    if schema.get("enum"):
        choices = ", ".join(str(choice) for choice in schema["enum"])
        return f"values among {choices}" if plural else f"one of {choices}"
    json_type = _json_type(schema)
    if json_type is None:
        return None
    noun = _NOUNS[json_type][plural]
    if json_type in ("integer", "number"):
        return noun + _numeric_range(schema)
    if json_type == "string" and schema.get("minLength"):
        if schema["minLength"] == 1:
            return "non-empty strings" if plural else "a non-empty string"
        return f"{noun} of at least {schema['minLength']} characters"
    if json_type == "array":
        items = _noun(schema.get("items") or {}, plural=True) or "values"
        most = f"at most {schema['maxItems']} " if schema.get("maxItems") is not None else ""
        return f"{noun} of {most}{items}"
    return noun


def accepted(schema: Mapping[str, t.Any]) -> str | None:
    """What a value of ``schema`` must be, in words ("a whole number from 1 to 31", "one of
    ca, eu, us", "a list of at most 20 non-empty strings"); ``None`` for a schema these
    checks do not read."""
    return _noun(schema, plural=False)


def _fits(value: t.Any, schema: Mapping[str, t.Any]) -> bool:
    """Whether ``value`` has the type and is within the bounds of ``schema`` (its item
    count aside: a list too long has a message of its own)."""
    if schema.get("enum"):
        return value in schema["enum"]
    json_type = _json_type(schema)
    if json_type is None:
        return True
    if not _IS_TYPE[json_type](value):
        return False
    if json_type in ("integer", "number"):
        return all(schema.get(keyword) is None or passes(value, schema[keyword])
                   for keyword, _, passes in _NUMERIC_BOUNDS)
    if json_type == "string":
        return len(value) >= schema.get("minLength", 0)
    if json_type == "array":
        items = schema.get("items") or {}
        return all(_fits(item, items) for item in value)
    return True


def value_problem(name: str, value: t.Any, schema: Mapping[str, t.Any], owner: str) -> str | None:
    """The user's message if ``value`` of the setting ``name`` breaks ``schema``; ``None``
    when it fits. A secret's value is never repeated, only what kind of value it is."""
    expected = accepted(schema)
    if expected is None:
        return None
    if not _fits(value, schema):
        shown = (next((kind for kind, types in _KINDS if isinstance(value, types)), "a value")
                 if schema.get("secret") else repr(value))
        return f"{name} is {shown}; it must be {expected}."
    most = schema.get("maxItems")
    if most is not None and len(value) > most:
        return f"{name} has {len(value)} entries; {owner} accepts at most {most}."
    return None


def check_settings(
    config: Mapping[str, t.Any],
    properties: Mapping[str, Mapping[str, t.Any]],
    *,
    required: Collection[str] = (),
    prefix: str = "",
    owner: str,
    checks: Mapping[str, SettingCheck] | None = None,
) -> list[str]:
    """Every problem with the settings of ``config`` declared in ``properties``, as the
    user's messages: a required setting missing (unset or empty), a value breaking its
    schema (nested objects' settings too). A setting with a code check in ``checks`` is
    checked by it alone. ``prefix`` makes the names the user writes (``<vendor>.``);
    ``owner`` is who needs a setting ("<the vendor> needs it").
    """
    messages: list[str] = []
    for key, schema in properties.items():
        name = f"{prefix}{key}"
        value = config.get(key)
        if checks and key in checks:
            message = checks[key](name, value)
        elif value is None or (value == "" and key in required):
            message = f"{name} is missing; {owner} needs it." if key in required else None
        else:
            message = value_problem(name, value, schema, owner)
            if message is None and isinstance(value, Mapping) and schema.get("properties"):
                messages.extend(check_settings(value, schema["properties"],
                                               required=schema.get("required", ()),
                                               prefix=f"{name}.", owner=owner))
        if message:
            messages.append(message)
    return messages


def is_bounded(schema: Mapping[str, t.Any]) -> bool:
    """Whether ``schema`` (or its items) limits a value beyond its type."""
    items = schema.get("items")
    return bool(BOUND_KEYWORDS & set(schema)) or (isinstance(items, Mapping) and is_bounded(items))


def describe_bounds(settings: th.PropertiesList) -> th.PropertiesList:
    """``settings`` with each bounded setting's description ending in what it accepts
    ("A whole number from 1 to 31."), so the docs show the bound without its being
    written twice. Returns the same list, its properties' descriptions extended once."""
    for prop in settings.wrapped.values():
        schema = prop.to_dict()[prop.name]
        expected = accepted(schema)
        if expected and is_bounded(schema):
            sentence = expected[0].upper() + expected[1:] + "."
            prop.description = f"{prop.description} {sentence}" if prop.description else sentence
    return settings
