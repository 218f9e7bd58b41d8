"""Talkdesk Explore's other reports in the sandbox: Contacts, Ring Attempts, User Status and
Studio Flow Execution, each with its own documented columns (Talkdesk's report pages and
the schemas of Airbyte's ``source-talkdesk-explore``).

Their rows are made from the calls of the data set, so they join the calls report by
``interaction_id`` (the call's): per call one contact, ``1 + index % 3`` ring attempts,
two agent statuses and three Studio flow steps, each row at a time up to
:data:`SPREAD_SECONDS` after the call's start. A job's file holds the rows whose own time
(the stream's replication key: :data:`ROW_TIME`) lies in its ``[from, to)`` (or, under
the ``report_rows`` reading ``by_call``, the rows of the calls it selects), times in the
job's timezone without an offset, durations in whole seconds except ``time_in_step``
(a fraction of a day), booleans ``"Yes"``/``"No"`` or ``"TRUE"``/``"FALSE"``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime, timezone, tzinfo
from typing import Any

from tap_callrecords.sandbox.data import uuid_for

#: The report types served besides ``explore_calls``.
REPORTS = ("contacts", "ring_attempts", "user_status", "studio_flow_execution")
#: The column each report's rows are selected by.
ROW_TIME = {"contacts": "started_at", "ring_attempts": "ring_started_at_time",
            "user_status": "status_start_at", "studio_flow_execution": "timestamp"}
#: Rows lie up to this many seconds after their call's start.
SPREAD_SECONDS = 60
SECONDS_PER_DAY = 86_400
STATUSES = ("On a call", "After call work")
FLOW_STEPS = ("Start", "Menu", "Assign to agent")


def rows_per_call(report: str, index: int) -> int:
    """How many rows of ``report`` call ``index`` has."""
    return {"contacts": 1, "ring_attempts": 1 + index % 3, "user_status": 2,
            "studio_flow_execution": 3}[report]


def rows_in_data_set(report: str, count: int) -> int:
    """Every row of ``report`` a data set of ``count`` calls holds."""
    return sum(rows_per_call(report, index) for index in range(count))


def _hex_id(*parts: object) -> str:
    return hashlib.md5(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def call_rows(report: str, seed: int, index: int, start: int, local: Callable[[int], str]) -> Iterator[
        tuple[int, dict[str, Any]]]:
    """The rows of ``report`` for call ``index`` starting at epoch second ``start``, each
    with its row time (epoch seconds); ``local`` writes an epoch second as the job does."""
    interaction = uuid_for(seed, index).replace("-", "")
    user = index % 7
    if report == "contacts":
        talk = 30 + index % 240
        yield start, {
            "interaction_id": interaction, "contact_id": _hex_id(interaction, "contact"),
            "company_number": "+14155550100", "phone_display_name": "Support line",
            "contact_person_number": f"+1415555{index % 10_000:04d}", "external_phone_number": None,
            "direction": "IN" if index % 4 else "OUT", "contact_type": "Answered" if index % 5 else "Missed",
            "started_at": local(start), "answered_at": local(start + 8), "connected_at": local(start + 9),
            "finished_at": local(start + 9 + talk), "wait_time": 8, "time_to_missed": 0, "abandon_time": 0,
            "short_abandon_time": 0, "time_to_voicemail": 0, "ring_time": 7, "connect_time": 1,
            "talk_time": talk, "hard_hold_time": 0, "soft_hold_time": index % 3, "hold_time": index % 3,
            "after_call_work_time": 20, "duration": 9 + talk, "handle_time": talk + 20,
            "inside_business_hours": _yes(index % 6 != 0), "inside_service_level": _yes(index % 3 != 0),
            "within_service_level_threshold": _yes(True), "transfer_out": _yes(index % 9 == 0),
            "transfer_out_type": None, "transfer_in": _yes(False), "transfer_in_type": None, "callback": None,
            "ring_groups": "support", "user_name": f"Agent {user}", "direct_assignment_user": None,
            "team_name": "Support", "user_id": f"user{user}", "direct_assignment_ids": None,
            "team_id": "team1", "handling_ring_groups": "support",
        }
    elif report == "ring_attempts":
        for attempt in range(rows_per_call(report, index)):
            rang = start + 1 + 6 * attempt
            agent = (user + attempt) % 7
            yield rang, {
                "interaction_id": interaction, "contact_id": _hex_id(interaction, "contact"),
                "batch_ring_id": _hex_id(interaction, "batch"),
                "ring_attempt_id": _hex_id(interaction, "ring", attempt),
                "attempt_type": "Accepted" if attempt == rows_per_call(report, index) - 1 else "Ignored",
                "ring_started_at_time": local(rang), "ring_finished_at_time": local(rang + 5),
                "ring_attempt_duration": 5, "user_id": f"user{agent}",
                "user_name": f"Agent {agent}", "user_email": f"agent{agent}@example.com",
                "team_name": "Support",
            }
    elif report == "user_status":
        for number, label in enumerate(STATUSES):
            begins = start + 30 * number
            yield begins, {
                "user_id": f"user{user}", "user_name": f"Agent {user}",
                "user_email": f"agent{user}@example.com",
                "status_label": label, "status_start_at": local(begins), "status_end_at": local(begins + 30),
                "status_time": 30, "is_user_active": "TRUE", "team_id": "team1", "team_name": "Support",
            }
    else:
        flow, finished = _hex_id("flow", index % 3), local(start + len(FLOW_STEPS))
        for order, step in enumerate(FLOW_STEPS):
            at = start + order
            yield at, {
                "call_sid": f"CA{_hex_id(interaction, 'sid')}", "interaction_id": interaction,
                "destination_number": "+14155550100", "origin_number": f"+1415555{index % 10_000:04d}",
                "flow_name": f"Flow {index % 3}", "flow_id": flow, "component_title": "Calls",
                "step_name": step, "exit": "ok", "time_in_step": round(0.5 / SECONDS_PER_DAY, 12),
                "timestamp": local(at),
                "studio_flow_executions_aggregated.flow_execution_finished_time": finished,
                "step_execution_order": order,
            }


def report_columns(report: str) -> list[str]:
    """The columns of ``report``'s files, in order (a CSV header even for an empty file)."""
    return list(next(call_rows(report, 1, 0, 0, str))[1])


def local_writer(zone: tzinfo) -> Callable[[int], str]:
    """Epoch seconds -> ``YYYY-MM-DD HH:MM:SS`` in ``zone`` (the job's timezone)."""

    def local(second: int) -> str:
        return datetime.fromtimestamp(second, timezone.utc).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    return local
