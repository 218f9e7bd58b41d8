"""A ``talkdesk_calls`` record as a ``call_records`` row (see the README's call_records section).

Talkdesk's ``call_type`` says both the direction and the outcome (``inbound`` is an
answered inbound call, ``outbound_missed`` an outbound call the customer did not
answer). The record's times are already UTC: ``talkdesk_record`` read the file's local
times in the job's timezone (``talkdesk.timezone``). The report gives no length of the
call, so ``duration_seconds`` is ``end_time`` minus ``start_time``; talk, wait and hold
times are Talkdesk's (seconds, converted from fractions of a day by ``talkdesk_record``).
Talkdesk names the customer's number and its own; it gives no agent id, queue or cost.
A CSV report cannot tell an empty cell from null, so empty text is null here.
"""

from __future__ import annotations

import typing as t

from tap_callrecords.call_records import CallRow
from tap_callrecords.call_records.values import lookup, seconds_between, text
from tap_callrecords.core.phones import to_e164

if t.TYPE_CHECKING:
    from collections.abc import Mapping

VENDOR = "talkdesk"
CHANNEL = "voice"

#: ``call_type`` -> (direction, outcome): the Calls report's documented values.
CALL_TYPES: dict[str, tuple[str | None, str | None]] = {
    "inbound": ("inbound", "answered"),
    "outbound": ("outbound", "answered"),
    "missed": ("inbound", "missed"),
    "abandoned": ("inbound", "abandoned"),
    "short_abandoned": ("inbound", "abandoned"),
    "voicemail": ("inbound", "voicemail"),
    "outbound_missed": ("outbound", "missed"),
}
_UNKNOWN_TYPE: tuple[str | None, str | None] = (None, None)


def talkdesk_call(record: Mapping[str, t.Any], region: str | None) -> CallRow:
    """The ``call_records`` row of a ``talkdesk_calls`` record (every column but ``raw``)."""
    get = record.get
    call_type = get("call_type")
    direction, outcome = lookup(CALL_TYPES, call_type, _UNKNOWN_TYPE)
    start, end = get("start_time"), get("end_time")
    return CallRow(
        vendor=VENDOR,
        call_id=text(get("interaction_id")),
        channel=CHANNEL,
        direction=direction,
        started_at=start,
        ended_at=end,
        duration_seconds=seconds_between(start, end),
        talk_seconds=get("talk_time"),
        wait_seconds=get("waiting_time"),
        hold_seconds=get("holding_time"),
        outcome=outcome,
        vendor_outcome=call_type or None,
        agent_id=None,
        agent_name=get("agent_name") or None,
        queue=None,
        team=get("team") or None,
        customer_number=to_e164(get("customer_phone_number"), region),
        business_number=to_e164(get("talkdesk_phone_number"), region),
        disposition=get("disposition_code") or None,
        recording_url=get("record") or None,
        cost=None,
        currency=None,
    )
