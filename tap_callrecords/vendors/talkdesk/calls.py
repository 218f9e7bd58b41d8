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
from tap_callrecords.call_records.values import Vocabulary, seconds_between, text
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
CALL_TYPE_OF = Vocabulary(CALL_TYPES, _UNKNOWN_TYPE)


def talkdesk_call(record: Mapping[str, t.Any], region: str | None) -> CallRow:
    """The ``call_records`` row of a ``talkdesk_calls`` record (every column but ``raw``)."""
    get = record.get
    call_type = get("call_type")
    direction, outcome = CALL_TYPE_OF[call_type]
    start, end = get("start_time"), get("end_time")
    return CallRow(  # by position, in column order (see CallRow)
        VENDOR,  # vendor
        text(get("interaction_id")),  # call_id
        CHANNEL,  # channel
        direction,  # direction
        start,  # started_at
        end,  # ended_at
        seconds_between(start, end),  # duration_seconds
        get("talk_time"),  # talk_seconds
        get("waiting_time"),  # wait_seconds
        get("holding_time"),  # hold_seconds
        outcome,  # outcome
        call_type or None,  # vendor_outcome
        None,  # agent_id
        get("agent_name") or None,  # agent_name
        None,  # queue
        get("team") or None,  # team
        to_e164(get("customer_phone_number"), region),  # customer_number
        to_e164(get("talkdesk_phone_number"), region),  # business_number
        get("disposition_code") or None,  # disposition
        get("record") or None,  # recording_url
        None,  # cost
        None,  # currency
    )
