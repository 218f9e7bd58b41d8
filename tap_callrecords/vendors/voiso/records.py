"""Voiso CDR records: the raw record of ``/api/v2/cdr`` -> the ``voiso_cdr`` record.

The shape is the JSON schema's: the record template is read from it, so a field added
to the schema is a field of every record.
"""

from __future__ import annotations

import json
import typing as t
from importlib import resources

from tap_callrecords.core.convert import as_int, as_number, hms_to_seconds, iso_to_utc_iso
from tap_callrecords.vendors.voiso import schemas

if t.TYPE_CHECKING:
    from collections.abc import Mapping

SCHEMA: dict[str, t.Any] = json.loads((resources.files(schemas) / "voiso_cdr.json").read_text())
#: Every field of the schema, in schema order, all null.
RECORD_TEMPLATE: dict[str, t.Any] = dict.fromkeys(SCHEMA["properties"])
SLA_FIELDS = ("time_to_first_response", "time_to_resolution", "time_to_reply")


def voiso_record(raw: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Schema-typed record: UTC ``timestamp``, ``duration`` and SLA times in seconds.

    Merging onto a template of all-null fields is the fast path (this runs for every
    record); a record with keys outside the schema keeps them in ``extra``.
    """
    out = {**RECORD_TEMPLATE, **raw}
    if len(out) != len(RECORD_TEMPLATE):
        extra = {key: value for key, value in raw.items() if key not in RECORD_TEMPLATE}
        out = {name: out[name] for name in RECORD_TEMPLATE}
        out["extra"] = extra
    out["timestamp"] = iso_to_utc_iso(out["timestamp"])
    out["duration"] = hms_to_seconds(out["duration"])
    if type(out["agent_id"]) is not int and out["agent_id"] is not None:
        out["agent_id"] = as_int(out["agent_id"])
    if type(out["num_segments"]) is not int and out["num_segments"] is not None:
        out["num_segments"] = as_int(out["num_segments"])
    if type(out["cpc"]) is not float and out["cpc"] is not None:
        out["cpc"] = as_number(out["cpc"])
    sla = out["sla"]
    if sla is not None:
        out["sla"] = (
            {name: hms_to_seconds(sla.get(name)) for name in SLA_FIELDS}
            if isinstance(sla, dict)
            else None
        )
    return out
