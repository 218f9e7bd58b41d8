"""A ``zoom_voice_calls`` record as a ``call_records`` row (see the README's call_records section).

Zoom names the customer's number (``consumer_number``; when it is missing, the other
end of the call: ``caller_number`` inbound, ``callee_number`` outbound). The business's
number is the number called (``callee_number``) on an inbound call, the number calling
(``caller_number``) on an outbound one. The direction is Zoom's own ``direction``. Its
``types`` (``internal_call``, ``internal_callback_call``, ...) are undocumented and do not
make a call ``internal``: Zoom's own sample has an "internal" callback that a consumer
called in on. The first of ``agents`` and of ``queues`` is the one named.
"""

from __future__ import annotations

import typing as t

from tap_callrecords.call_records import CallRow
from tap_callrecords.call_records.values import Vocabulary, text
from tap_callrecords.core.phones import to_e164

if t.TYPE_CHECKING:
    from collections.abc import Mapping

VENDOR = "zoom"
CHANNEL = "voice"

DIRECTIONS: dict[str, str] = {"inbound": "inbound", "outbound": "outbound", "internal": "internal"}
#: ``result`` -> outcome, for every value Zoom documents (the README's mapping table says
#: how each is read). Handled calls, however long, are answered; a consumer who left
#: before or while waiting (in the flow, the queue, on hold or for a callback) abandoned;
#: a call nobody took (rung out, declined, disconnected by an overflow rule) is missed;
#: one sent to an inbox is voicemail. ``overflowed`` (sent on to a destination whose
#: result the log does not give) and ``auto_closed`` (closed by the system) have none,
#: unless ``inbox`` says the call reached voicemail. A value Zoom adds later has none.
RESULTS: dict[str, str] = {
    "completed": "answered",
    "long_calls": "answered",
    "short_calls": "answered",
    "contained": "answered",
    "short_abandoned": "abandoned",
    "long_abandoned": "abandoned",
    "hold_abandoned": "abandoned",
    "hang_up_calls": "abandoned",
    "abandon_quit": "abandoned",
    "callback_abandoned_by_consumer": "abandoned",
    "missed": "missed",
    "declined": "missed",
    "overflowed_to_disconnect": "missed",
    "overflowed_to_inbox": "voicemail",
}
DIRECTION_OF = Vocabulary(DIRECTIONS, None)
OUTCOME_OF = Vocabulary(RESULTS, None)
#: The currency of a charge by its symbol (Zoom writes ``"$0.019"``). A charge with a
#: three-letter code instead (``"USD 0.019"``) gives that code.
CURRENCY_SYMBOLS: dict[str, str] = {"$": "USD", "€": "EUR", "£": "GBP", "₹": "INR", "¥": "JPY"}


def charge_currency(charge: t.Any) -> str | None:
    """ISO 4217 code of a Zoom charge text: ``"$0.019"`` -> ``"USD"``; ``None`` if it names none."""
    if type(charge) is not str or not charge:
        return None
    written = charge.strip()
    symbol = CURRENCY_SYMBOLS.get(written[:1])
    if symbol is not None:
        return symbol
    for code in (written[:3], written[-3:]):
        if len(code) == 3 and code.isascii() and code.isalpha() and code.isupper():
            return code
    return None


def zoom_call(record: Mapping[str, t.Any], region: str | None) -> CallRow:
    """The ``call_records`` row of a ``zoom_voice_calls`` record (every column but ``raw``)."""
    get = record.get
    direction = DIRECTION_OF[get("direction")]
    customer = get("consumer_number")
    if direction == "inbound":
        business = get("callee_number")
        customer = customer or get("caller_number")
    elif direction == "outbound":
        business = get("caller_number")
        customer = customer or get("callee_number")
    else:
        business = None
    result = get("result")
    outcome = OUTCOME_OF[result]
    if outcome is None and get("inbox"):
        outcome = "voicemail"
    agents = get("agents")
    agent = agents[0] if agents else None
    queues = get("queues")
    amount = get("charge_amount")
    return CallRow(  # by position, in column order (see CallRow)
        VENDOR,  # vendor
        text(get("engagement_id")),  # call_id
        CHANNEL,  # channel
        direction,  # direction
        get("start_time"),  # started_at
        get("end_time"),  # ended_at
        get("total_duration"),  # duration_seconds
        None,  # talk_seconds
        None,  # wait_seconds
        None,  # hold_seconds
        outcome,  # outcome
        result,  # vendor_outcome
        text(agent.get("user_id")) if agent else None,  # agent_id
        agent.get("display_name") if agent else None,  # agent_name
        queues[0].get("queue_name") if queues and queues[0] else None,  # queue
        None,  # team
        to_e164(customer, region),  # customer_number
        to_e164(business, region),  # business_number
        None,  # disposition
        None,  # recording_url
        amount,  # cost
        None if amount is None else charge_currency(get("charge")),  # currency
    )
