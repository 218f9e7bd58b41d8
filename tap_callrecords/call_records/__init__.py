"""``call_records``: one normalised row per interaction, from every configured vendor.

Each vendor stream (``voiso_cdr``, ``smartflo_call_records``, ``zoom_voice_calls``,
``talkdesk_calls``) keeps the vendor's own shape. ``call_records`` puts the same
interactions into one table with one meaning per column, so a question like "how many
inbound calls were missed per vendor last week" is one query:

- **who and what**: ``vendor``, ``call_id`` (the vendor stream's primary key, as text;
  the table's key is ``(vendor, call_id)``), ``channel``, ``direction``;
- **when**: ``started_at`` and ``ended_at``, in the tap's UTC form;
- **how long**, in seconds: ``duration_seconds``, ``talk_seconds``, ``wait_seconds``,
  ``hold_seconds``; null where the vendor has no such figure, never a made-up zero;
- **how it ended**: ``outcome`` (one of :data:`OUTCOMES`) next to the vendor's own value
  (``vendor_outcome``), and the agent's ``disposition``;
- **who took part**: ``agent_id``, ``agent_name``, ``queue``, ``team``,
  ``customer_number`` and ``business_number`` (E.164 where the number allows it, see
  :mod:`tap_callrecords.core.phones`);
- ``recording_url``, ``cost`` and ``currency``;
- ``raw``: the vendor stream's record exactly as that stream emits it, so nothing the
  vendor said is lost to the normalisation.

Each vendor has one pure mapping function, ``vendors/<vendor>/calls.py``
(:data:`CallMapping`), from the vendor stream's typed record (the output of its
``records.py``) and the vendor's ``default_phone_region`` setting to every column but
``raw``, in schema order. The README's "call_records" section says, vendor by vendor,
where each column comes from and every judgement call made on the way.

The mappings run once per record: plain dict lookups and module-level tables, one
row struct built by position. ``bench/call_mappings.py`` measures them on the sandbox's
data sets; see :mod:`tap_callrecords.core.phones` for the cost of a number's parse.
"""

from __future__ import annotations

import json
import typing as t
from collections.abc import Callable, Mapping
from importlib import resources

import msgspec

from tap_callrecords.call_records import schemas

#: How an interaction ended, in words that mean the same for every vendor:
#:
#: - ``answered``: the other side picked up and the two talked: an agent, on an
#:   inbound call; the customer (a person), on an outbound call.
#: - ``missed``: the call was offered and nobody answered it: no agent took an inbound
#:   call (none free, none answering, outside business hours), or the customer did not
#:   answer, was busy or rejected an outbound call.
#: - ``abandoned``: the caller hung up before anyone answered (in the IVR, the queue or
#:   while ringing), or an outbound dialer dropped a call the customer had answered
#:   because no agent was free.
#: - ``voicemail``: the call ended in a voicemail box or answering machine.
#: - ``failed``: the call could not be placed or connected (a network or system
#:   rejection, an undeliverable message).
#:
#: ``null`` when the vendor's value says none of these (a chat "archived", a call
#: "overflowed" elsewhere) or is missing; the vendor's value is always in ``vendor_outcome``.
OUTCOMES: tuple[str, ...] = ("answered", "missed", "abandoned", "voicemail", "failed")

#: ``inbound``: the customer contacted the business. ``outbound``: the business contacted
#: the customer (manual, dialer, click-to-call, callbacks). ``internal``: between the
#: business's own users, when a vendor's direction says so (Zoom's and Smartflo's
#: ``direction`` are read for it; none of the four documents such a value today, so no
#: row is made internal by inference). ``null`` when the vendor does not say.
DIRECTIONS: tuple[str, ...] = ("inbound", "outbound", "internal")

#: ``voice``: a phone call. ``sms``: a text message. ``chat``: a website chat.
#: ``messaging``: a messaging app or social network (WhatsApp, Telegram, Viber, Facebook,
#: Instagram). Only Voiso's CDR mixes them; every other vendor stream is calls only.
#: ``null`` for what is no interaction of these kinds (Voiso's HLR number lookups).
CHANNELS: tuple[str, ...] = ("voice", "sms", "chat", "messaging")


class CallRow(msgspec.Struct):
    """One ``call_records`` row, its columns in schema order (a test holds them to the
    schema). A struct, not a dict, because it is built and encoded once per call, and a
    struct encodes faster than the same dict; mappings build it by position (faster than
    by keyword), each column named in a comment. ``raw`` is set when the row is written.
    ``bench/call_mappings.py`` measures both."""

    vendor: str
    call_id: str | None
    channel: str | None
    direction: str | None
    started_at: str | None
    ended_at: str | None
    duration_seconds: float | None
    talk_seconds: float | None
    wait_seconds: float | None
    hold_seconds: float | None
    outcome: str | None
    vendor_outcome: str | None
    agent_id: str | None
    agent_name: str | None
    queue: str | None
    team: str | None
    customer_number: str | None
    business_number: str | None
    disposition: str | None
    recording_url: str | None
    cost: float | None
    currency: str | None
    raw: t.Any = None

    def __contains__(self, key: object) -> bool:
        """The SDK's record loop asks whether a record holds its partition's keys
        (``vendor``) before it adds them; a row holds every column."""
        return key in self.__struct_fields__


#: A vendor's mapping: its stream's typed record and its ``default_phone_region``
#: (``None``: unset) -> the record's ``call_records`` row (all but ``raw``).
CallMapping = Callable[[Mapping[str, t.Any], str | None], CallRow]

#: The normalised JSON schema (``schemas/call_records.json``).
SCHEMA: dict[str, t.Any] = json.loads((resources.files(schemas) / "call_records.json").read_text())
#: The columns a mapping returns: every schema property but ``raw``, in schema order.
FIELDS: tuple[str, ...] = tuple(name for name in SCHEMA["properties"] if name != "raw")
