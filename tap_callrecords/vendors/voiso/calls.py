"""A ``voiso_cdr`` record as a ``call_records`` row (see the README's call_records section).

Voiso's CDR mixes calls, SMS and chats: ``type`` gives the channel and the direction,
``disposition`` (set by Voiso when the interaction ends) the outcome. ``from`` is the
calling side (ANI, SMS sender id) and ``to`` the called side (DNIS), so the customer is
``from`` on inbound interactions and ``to`` on outbound ones. ``timestamp``, the stream's
replication key, is when the interaction ended: it is ``ended_at``, and ``started_at`` is
that less ``duration`` (the end itself when Voiso gives no duration).
"""

from __future__ import annotations

import typing as t

from tap_callrecords.call_records import CallRow
from tap_callrecords.call_records.values import Vocabulary, seconds_before, text
from tap_callrecords.core.phones import to_e164

if t.TYPE_CHECKING:
    from collections.abc import Mapping

VENDOR = "voiso"
#: Voiso documents ``cpc`` in U.S. dollars.
CURRENCY = "USD"

_OUTBOUND_VOICE = ("voice", "outbound")
_MESSAGING = ("messaging", None)
#: ``type`` -> (channel, direction). Keys as Voiso sends them (the docs write some with
#: spaces or hyphens: ``outbound SMS``, ``click-to-call``; :class:`Vocabulary` reads both).
#: Digital conversations carry no direction; an HLR lookup is no interaction: both null.
TYPES: dict[str, tuple[str | None, str | None]] = {
    "inbound": ("voice", "inbound"),
    "outbound": _OUTBOUND_VOICE,
    "dialer": _OUTBOUND_VOICE,
    "click_to_call": _OUTBOUND_VOICE,
    "queue_callback": _OUTBOUND_VOICE,
    "scheduled_callback": _OUTBOUND_VOICE,
    "outbound_sms": ("sms", "outbound"),
    "chat": ("chat", None),
    "whatsapp": _MESSAGING,
    "instagram": _MESSAGING,
    "facebook": _MESSAGING,
    "telegram": _MESSAGING,
    "viber": _MESSAGING,
}
_UNKNOWN_TYPE: tuple[str | None, str | None] = (None, None)

#: ``disposition`` -> outcome, from Voiso's "Disposition codes" page. Codes that are no
#: call outcome (SMS sent or delivered; chat waiting, active, archived; WhatsApp
#: initiated; HLR available or absent) are not here: their outcome is null.
DISPOSITIONS: dict[str, str] = {
    "answered": "answered",
    # Inbound: "the call was directed to voicemail"; outbound: an answering machine.
    "answered_by_vm": "voicemail",
    "answered_by_voicemail": "voicemail",
    "voicemail": "voicemail",
    "machine_answered": "voicemail",
    # Inbound: "disconnected before reaching an agent" (rang, nobody took it).
    "missed": "missed",
    # Inbound: "arrived outside business hours and was ended by the system".
    "system_abandoned": "missed",
    # Outbound: the customer did not pick up.
    "no_answer": "missed",
    "busy": "missed",
    "rejected": "missed",
    # Inbound: in the pre-queue or queue with no agent available (the caller gave up).
    "abandoned": "abandoned",
    # Dialer: the customer answered, no agent was free, the call was dropped.
    "dialer_abandoned": "abandoned",
    "failed": "failed",
    "system_reject": "failed",
    # SMS.
    "not_sent": "failed",
    "not_delivered": "failed",
    "route_unavailable": "failed",
}
#: The tables as the mappings read them (v4's too).
TYPE_OF = Vocabulary(TYPES, _UNKNOWN_TYPE)
OUTCOME_OF = Vocabulary(DISPOSITIONS, None)


def voiso_call(record: Mapping[str, t.Any], region: str | None) -> CallRow:
    """The ``call_records`` row of a ``voiso_cdr`` record (every column but ``raw``)."""
    get = record.get
    channel, direction = TYPE_OF[get("type")]
    if direction == "inbound":
        customer, business = get("from"), get("to")
    elif direction == "outbound":
        customer, business = get("to"), get("from")
    else:
        customer = business = None
    timestamp: str = record["timestamp"]
    duration = get("duration")
    started = seconds_before(timestamp, duration) if duration else timestamp
    disposition = get("disposition")
    cpc = get("cpc")
    return CallRow(  # by position, in column order (see CallRow)
        VENDOR,  # vendor
        text(get("uuid")),  # call_id
        channel,  # channel
        direction,  # direction
        started,  # started_at
        timestamp,  # ended_at
        duration,  # duration_seconds
        None,  # talk_seconds
        None,  # wait_seconds
        None,  # hold_seconds
        OUTCOME_OF[disposition],  # outcome
        disposition,  # vendor_outcome
        text(get("agent_id")),  # agent_id
        get("agent"),  # agent_name
        get("queue"),  # queue
        None,  # team
        to_e164(customer, region),  # customer_number
        to_e164(business, region),  # business_number
        get("wrapup_code"),  # disposition
        None,  # recording_url
        cpc,  # cost
        None if cpc is None else CURRENCY,  # currency
    )
