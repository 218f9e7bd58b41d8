"""Voiso v4 CDR records: the raw record of ``/api/v4/reporting/cdrs`` -> the ``voiso_cdrs_v4`` record.

The schema says the whole shape (:mod:`~tap_callrecords.core.records`): v4 writes
seconds as numbers and times in ISO 8601, so no field needs a reader of its own; the
type-specific ``data`` object keeps every key it does not type.
"""

from __future__ import annotations

from tap_callrecords.core.records import RecordConversion, load_schema
from tap_callrecords.vendors.voiso.v4 import schemas

SCHEMA = load_schema(schemas, "voiso_cdrs_v4.json")

#: Schema-typed record: UTC ``started_at``/``ended_at``, ``data`` typed where documented.
voiso_v4_record = RecordConversion(SCHEMA)
