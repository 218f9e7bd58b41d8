"""A ``smartflo_call_records`` record as a ``call_records`` row (see the README's call_records section).

Smartflo names both sides whatever the direction: ``client_number`` is the customer's
number and ``did_number`` the business's DID the call came in on or went out from. Its
numbers often lack the ``+`` (``919650134255``): ``smartflo.default_phone_region``
(default ``IN``) reads them. ``status`` is Smartflo's own verdict, ``answered`` or
``missed`` (its ``call_type`` filter: ``c`` answered, ``m`` missed); a call flagged
``voicemail_recording`` ended in voicemail. Wait and hold times exist only in the
details of dialer calls (``dialer_call_details``).
"""

from __future__ import annotations

import typing as t

from tap_callrecords.call_records import CallRow
from tap_callrecords.call_records.values import Vocabulary, text
from tap_callrecords.core.phones import to_e164

if t.TYPE_CHECKING:
    from collections.abc import Mapping

VENDOR = "smartflo"
CHANNEL = "voice"

#: ``direction``: Smartflo sends ``inbound``/``outbound`` (its docs write them capitalised).
DIRECTIONS: dict[str, str] = {"inbound": "inbound", "outbound": "outbound", "internal": "internal"}
#: ``status`` -> outcome. Smartflo's ``missed`` also covers callers who hung up before an
#: agent answered: it does not tell them apart (``reason`` is documented as internal).
STATUSES: dict[str, str] = {"answered": "answered", "missed": "missed"}
DIRECTION_OF = Vocabulary(DIRECTIONS, None)
OUTCOME_OF = Vocabulary(STATUSES, None)


def _answering_agent_id(call_flow: t.Any) -> str | None:
    """The id of the first agent who answered: the call flow's first ``Agent`` step
    whose ``dialst`` is ``Answered``."""
    if not call_flow:
        return None
    for step in call_flow:
        if step.get("type") == "Agent" and step.get("dialst") == "Answered":
            return text(step.get("id"))
    return None


def _hold_seconds(dialer: Mapping[str, t.Any]) -> int | None:
    """``total_hold_duration``, else the sum of the agents' ``hold_duration`` (null if none is known)."""
    total = dialer.get("total_hold_duration")
    if total is not None:
        return t.cast("int", total)
    agents = dialer.get("agents_call_details")
    if not agents:
        return None
    summed: int | None = None
    for details in agents.values():
        hold = details.get("hold_duration") if details else None
        if hold is not None:
            summed = hold if summed is None else summed + hold
    return summed


def smartflo_call(record: Mapping[str, t.Any], region: str | None) -> CallRow:
    """The ``call_records`` row of a ``smartflo_call_records`` record (every column but ``raw``)."""
    get = record.get
    dialer = get("dialer_call_details")
    status = get("status")
    outcome = "voicemail" if get("voicemail_recording") else OUTCOME_OF[status]
    if dialer:
        wait, hold = dialer.get("call_wait_time"), _hold_seconds(dialer)
        disposition, dialer_queue = dialer.get("disposition_name"), dialer.get("inbound_queue")
    else:
        wait = hold = disposition = dialer_queue = None
    charges = get("charges")
    return CallRow(  # by position, in column order (see CallRow)
        VENDOR,  # vendor
        text(get("id")),  # call_id
        CHANNEL,  # channel
        DIRECTION_OF[get("direction")],  # direction
        get("start_time"),  # started_at
        get("end_time"),  # ended_at
        get("call_duration"),  # duration_seconds
        get("answered_seconds"),  # talk_seconds
        wait,  # wait_seconds
        hold,  # hold_seconds
        outcome,  # outcome
        status,  # vendor_outcome
        _answering_agent_id(get("call_flow")),  # agent_id
        get("agent_name"),  # agent_name
        get("department_name") or dialer_queue,  # queue
        None,  # team
        to_e164(get("client_number"), region),  # customer_number
        to_e164(get("did_number"), region),  # business_number
        disposition,  # disposition
        get("recording_url"),  # recording_url
        charges,  # cost
        None,  # currency
    )
