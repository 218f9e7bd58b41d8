"""Record shapes derived from a stream's JSON schema, so the schema is the one description.

A vendor's record function needs the shape in two forms besides the schema itself: a
``msgspec`` struct that checks and types a well-formed record in one C call, and a
lenient field-by-field conversion for records that struct rejects (a number sent as
text, an object where a list belongs). Both are built here from the schema, once, at
import time; writing them by hand was a second and third copy of every field.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Mapping

import msgspec

from tap_callrecords.core.convert import as_bool, as_int, as_number, as_text

Convert = Callable[[t.Any], t.Any]


def schema_types(prop: Mapping[str, t.Any]) -> tuple[str | None, bool]:
    """The property's JSON type other than ``null``, and whether ``null`` is allowed."""
    declared = prop.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    main = [name for name in types if name != "null"]
    return (main[0] if main else None), ("null" in types or not types)


def _struct_type(name: str, prop: Mapping[str, t.Any]) -> t.Any:
    kind, _ = schema_types(prop)
    if kind == "array":
        return list.__class_getitem__(_struct_type(name, prop.get("items") or {}))
    if kind == "object" and prop.get("properties"):
        return struct_from_schema(name, prop)
    return {"string": str, "integer": int, "number": float, "boolean": bool,
            "object": dict[str, t.Any]}.get(kind or "", t.Any)


def struct_from_schema(
    name: str, schema: Mapping[str, t.Any], *, required: tuple[str, ...] = ()
) -> type[msgspec.Struct]:
    """A struct with one field per schema property; all optional (``None``) but ``required``.

    Converted with ``msgspec.convert(..., strict=False)``, numbers and booleans sent as
    text are coerced; anything else of the wrong type raises ``msgspec.ValidationError``.
    Keys the schema does not know are ignored (the caller keeps them in ``extra``).
    """
    fields: list[tuple[str, t.Any] | tuple[str, t.Any, t.Any]] = []
    for key, prop in schema.get("properties", {}).items():
        field_type = _struct_type(f"{name}_{key}", prop)
        if key in required:
            fields.append((key, field_type))
        else:
            fields.append((key, field_type | None, None))
    fields.sort(key=len)  # fields without a default first, as a struct requires
    return msgspec.defstruct(name, fields)


def _list_of(item: Convert) -> Convert:
    def convert(value: t.Any) -> list[t.Any] | None:
        if not isinstance(value, list):
            return None
        items = (item(entry) for entry in value if entry is not None)
        return [entry for entry in items if entry is not None]

    return convert


def _object_of(converters: Mapping[str, Convert]) -> Convert:
    def convert(value: t.Any) -> dict[str, t.Any] | None:
        if not isinstance(value, dict):
            return None
        return {key: conv(value.get(key)) for key, conv in converters.items()}

    return convert


def _any_object(value: t.Any) -> dict[str, t.Any] | None:
    return value if isinstance(value, dict) else None


def lenient_converter(prop: Mapping[str, t.Any]) -> Convert:
    """A conversion that accepts any value and returns one of the property's type or ``None``.

    Scalars through the lenient coercions of :mod:`~tap_callrecords.core.convert`; lists
    element by element (unreadable elements dropped); objects with declared properties
    as exactly those properties; free-form objects as they are.
    """
    kind, _ = schema_types(prop)
    if kind == "array":
        return _list_of(lenient_converter(prop.get("items") or {}))
    if kind == "object":
        properties = prop.get("properties")
        if properties:
            return _object_of({key: lenient_converter(sub) for key, sub in properties.items()})
        return _any_object
    return {"string": as_text, "integer": as_int, "number": as_number,
            "boolean": as_bool}.get(kind or "", lambda value: value)


def lenient_record(schema: Mapping[str, t.Any]) -> Callable[[Mapping[str, t.Any]], dict[str, t.Any]]:
    """Field-by-field conversion of a whole record to the schema's properties."""
    converters = {key: lenient_converter(prop) for key, prop in schema["properties"].items()}

    def convert(raw: Mapping[str, t.Any]) -> dict[str, t.Any]:
        get = raw.get
        return {key: conv(get(key)) for key, conv in converters.items()}

    return convert


def scalar_kinds(
    properties: Mapping[str, t.Any], *, integer: Convert = as_int
) -> dict[str, tuple[tuple[type, ...], Convert]]:
    """For each scalar property: the Python types its schema allows, and the conversion
    for any other value (``integer`` for integers: a vendor may write seconds as text)."""
    table: dict[str, tuple[tuple[type, ...], Convert]] = {}
    for key, prop in properties.items():
        kind, _ = schema_types(prop)
        if kind == "string":
            table[key] = ((str,), as_text)
        elif kind == "integer":
            table[key] = ((int,), integer)
        elif kind == "number":
            table[key] = ((int, float), as_number)
        elif kind == "boolean":
            table[key] = ((bool,), as_bool)
    return table


def unknown_keys(raw: Mapping[str, t.Any], known: t.AbstractSet[str]) -> dict[str, t.Any] | None:
    """The keys of ``raw`` that the schema does not know, as sent; ``None`` if there are none."""
    unknown = raw.keys() - known
    return {key: raw[key] for key in unknown} if unknown else None
