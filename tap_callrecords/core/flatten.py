"""Records that stay valid when the SDK flattens them (``flattening_enabled``).

The SDK flattens a schema by replacing each nested object (with declared properties,
down to ``flattening_max_depth``) by one column per property, ``parent__child``, and a
record by walking its nested dicts. Two kinds of value then produce columns the
flattened schema does not have, and a target validating records against the SCHEMA
message stops on them:

- a nested object that is null (or of another shape: a list, a string) stays under its
  own key, which the flattened schema no longer has;
- keys inside a nested object that its schema does not name (a vendor's custom fields
  ``field_0``, ``field_1``, …; anything a vendor adds) become columns of their own.

:func:`flattenable` prepares a record before the SDK flattens it: a null nested object
is left out (all its columns are null), and a nested value the schema cannot hold as
columns is moved into the record's ``extra``, under its path (``{"contact_details":
{"field_0": …}}``), so nothing the vendor sent is lost.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

EXTRA = "extra"


def _is_flattened(prop: Mapping[str, t.Any]) -> bool:
    """Whether the SDK's ``flatten_schema`` turns this property into columns."""
    declared = prop.get("type", ())
    types = [declared] if isinstance(declared, str) else declared
    return "object" in types and "properties" in prop


def flattenable(record: dict[str, t.Any], schema: Mapping[str, t.Any], max_level: int) -> dict[str, t.Any]:
    """``record`` as the SDK's flattening at ``max_level`` keeps valid against the flattened
    ``schema`` (see the module doc); ``record`` itself is left as it is."""
    moved: dict[str, t.Any] = {}
    out = _node(record, schema.get("properties", {}), 0, max_level, moved)
    if moved:
        extra = out.get(EXTRA)
        out[EXTRA] = {**extra, **moved} if isinstance(extra, dict) else moved
    return out


def _node(value: Mapping[str, t.Any], properties: Mapping[str, t.Any], level: int, max_level: int,
          moved: dict[str, t.Any]) -> dict[str, t.Any]:
    out: dict[str, t.Any] = {}
    for key, item in value.items():
        prop = properties.get(key)
        if prop is None:
            if level == 0:
                out[key] = item  # a top-level key the schema lacks is not flattening's concern
            else:
                moved[key] = item
        elif level < max_level and _is_flattened(prop):
            if isinstance(item, Mapping):
                inner: dict[str, t.Any] = {}
                out[key] = _node(item, prop["properties"], level + 1, max_level, inner)
                if inner:
                    moved[key] = inner
            elif item is not None:
                moved[key] = item
        else:
            out[key] = item
    return out
