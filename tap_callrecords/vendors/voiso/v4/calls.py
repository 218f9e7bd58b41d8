"""A ``voiso_cdrs_v4`` record as a ``call_records`` row (see the README's call_records section).

v4 says the kind of record in ``type`` (``call``, ``conversation``, ``sms``,
``hlr_lookup``) and, for a call, its kind in ``subtype`` with v2's words (``inbound``,
``outbound``, ``dialer``, ...): the channel comes from ``type`` (a conversation's from
``data.channel``), the direction from ``subtype`` (else ``data.direction``) by v2's
table, the outcome from ``disposition`` by v2's table of Voiso's disposition codes.

The same interaction keeps one ``call_id`` across the move from v2 to v4: v2's ``uuid``
and v4's ``id`` name the CDR, and the row's ``call_id`` is that value as sent (the
README says what this rests on).
"""

from __future__ import annotations

import typing as t

from tap_callrecords.call_records import CallRow
from tap_callrecords.call_records.values import Vocabulary, seconds_between, text
from tap_callrecords.core.phones import to_e164
from tap_callrecords.vendors.voiso.calls import OUTCOME_OF, TYPE_OF, VENDOR

if t.TYPE_CHECKING:
    from collections.abc import Mapping

#: ``type`` -> channel; a conversation's channel is read from ``data.channel``.
CHANNELS: dict[str, str | None] = {"call": "voice", "sms": "sms", "hlr_lookup": None}
CHANNEL_OF = Vocabulary(CHANNELS, None)


def _channel(kind: t.Any, data: Mapping[str, t.Any]) -> str | None:
    if kind == "conversation":
        return TYPE_OF[data.get("channel")][0] or "messaging"
    return CHANNEL_OF[kind]


def voiso_v4_call(record: Mapping[str, t.Any], region: str | None) -> CallRow:
    """The ``call_records`` row of a ``voiso_cdrs_v4`` record (every column but ``raw``)."""
    get = record.get
    data: Mapping[str, t.Any] = get("data") or {}
    kind = get("type")
    channel = _channel(kind, data)
    direction = None if kind in ("conversation", "hlr_lookup") else (
        TYPE_OF[get("subtype")][1] or TYPE_OF[data.get("direction")][1])
    if direction == "inbound":
        customer, business = data.get("from"), data.get("to")
    elif direction == "outbound":
        customer, business = data.get("to"), data.get("from")
    else:
        customer = business = None
    started, ended = record["started_at"], get("ended_at")
    duration = get("duration")
    if duration is None:
        duration = seconds_between(started, ended)
    disposition = get("disposition")
    cost = data.get("cost")
    return CallRow(  # by position, in column order (see CallRow)
        VENDOR,  # vendor
        text(get("id")),  # call_id
        channel,  # channel
        direction,  # direction
        started,  # started_at
        ended,  # ended_at
        duration,  # duration_seconds
        data.get("talk_time"),  # talk_seconds
        data.get("wait_time"),  # wait_seconds
        data.get("hold_time"),  # hold_seconds
        OUTCOME_OF[disposition],  # outcome
        disposition,  # vendor_outcome
        text(get("user_id")),  # agent_id
        get("user_name"),  # agent_name
        get("queue_name"),  # queue
        text(get("team_id")),  # team
        to_e164(customer, region),  # customer_number
        to_e164(business, region),  # business_number
        data.get("wrapup_code"),  # disposition
        data.get("recording_url"),  # recording_url
        cost,  # cost
        data.get("currency") if cost is not None else None,  # currency
    )
