"""Voiso CDR records: the raw record of ``/api/v2/cdr`` -> the ``voiso_cdr`` record.

The schema says the shape (:mod:`~tap_callrecords.core.records`); Voiso writes its
durations and SLA times as ``hh:mm:ss``, read as seconds.
"""

from __future__ import annotations

from tap_callrecords.core.convert import as_seconds
from tap_callrecords.core.records import RecordConversion, load_schema
from tap_callrecords.vendors.voiso import schemas

SCHEMA = load_schema(schemas, "voiso_cdr.json")
HMS_FIELDS = ("duration", *(f"sla.{name}" for name in SCHEMA["properties"]["sla"]["properties"]))

#: Schema-typed record: UTC ``timestamp``, ``duration`` and SLA times in seconds.
voiso_record = RecordConversion(SCHEMA, readers=dict.fromkeys(HMS_FIELDS, as_seconds))
