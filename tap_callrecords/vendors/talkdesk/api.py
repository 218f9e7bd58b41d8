"""Talkdesk Explore's report API: OAuth client credentials and ``explore_calls`` report jobs.

- **Hosts by region** (``us``, ``eu``, ``ca``) for both the API and the token endpoint
  (``https://{account}.talkdeskid.com/oauth/token`` and the like); both can be
  overridden for other regions.
- **Jobs.** ``POST /data/reports/explore_calls/jobs`` with a timespan (``from``
  inclusive, ``to`` exclusive, at most 31 days, never in the future), the job's IANA
  ``timezone`` and a file ``format``. The file's times come back in the job's timezone,
  without an offset. Whether an offset in the timespan wins over the job's timezone, or
  the timezone over the offset ("the timezone which the report timespan will be
  applied"), is undocumented, so the timespan is written as the wall time *in the job's
  timezone* with that zone's offset at that instant (``2024-06-30T20:00:00-04:00``;
  ``Z`` in UTC): both readings then name the same instant (:func:`job_time`). A CSV
  header of display names (``Interaction ID``) is read as the keys it names. The reply's id is
  read from ``{"job": {...}}`` (real replies) or flat (the reference), whichever comes.
  A 429 there means the account's 15-job quota is full (its ``Retry-After`` is honoured).
- **Status.** ``GET .../jobs/{id}``: ``created``, ``processing``, ``uploading`` run on;
  ``done`` is done, and so is any 3xx (303 and 300 are both documented);
  ``failed``, ``canceled`` and ``deleted`` end the job.
- **Files.** ``GET .../files/{id}`` answers 303 to a short-lived pre-signed object-store
  URL, fetched **without** the ``Authorization`` header (the store rejects it); an
  expired URL (403 or 400 from the store) is asked for again. ``DELETE .../files/{id}``
  once read (retried; one attempt on the way out). Cancelling a running job as
  ``DELETE .../jobs/{id}`` is inferred from the API's resource layout (the docs list no
  cancel call); a refusal is logged, not fatal.
"""

from __future__ import annotations

import typing as t
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from tap_callrecords.core.auth import ClientCredentialsAuth
from tap_callrecords.core.client import Redirect, Refused, VendorClient
from tap_callrecords.core.convert import UTC
from tap_callrecords.core.errors import VendorAPIError
from tap_callrecords.core.files import csv_rows, json_array_items, json_lines
from tap_callrecords.core.jobs import JobState, QuotaFull, ReportNotEntitled
from tap_callrecords.core.retry import retry_after_seconds
from tap_callrecords.vendors.talkdesk.records import column_key

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterator, Mapping

    from tap_callrecords.core.client import FileStream, RequestSettings
    from tap_callrecords.core.windows import Window

LABEL = "Talkdesk"
CREDENTIAL_SETTINGS = ("talkdesk.account_name", "talkdesk.client_id", "talkdesk.client_secret")
SCOPE = "data-reports:read data-reports:write"
#: API root and token endpoint per region; ``{account}`` is ``talkdesk.account_name``.
REGIONS: dict[str, tuple[str, str]] = {
    "us": ("https://api.talkdeskapp.com", "https://{account}.talkdeskid.com/oauth/token"),
    "eu": ("https://api.talkdeskapp.eu", "https://{account}.talkdeskid.eu/oauth/token"),
    "ca": ("https://api.talkdeskappca.com", "https://{account}.talkdeskidca.com/oauth/token"),
}
#: The report jobs of the Calls report; every report type has its own, below ``/data/reports``.
CALLS_REPORT = "explore_calls"
#: A refused report type: the account is not entitled to it (or the client may not read it).
NOT_ENTITLED = 403
#: Rows a report file holds at most (the docs' limit per request; ``talkdesk.report_row_cap``).
ROW_CAP = 1_000_000
RUNNING = frozenset(("created", "processing", "uploading", "queued"))
ENDED = frozenset(("failed", "canceled", "cancelled", "deleted", "expired"))
#: The answer to a new job when the account's job quota is full.
QUOTA_FULL = 429
#: The object store's answers to an expired pre-signed URL.
EXPIRED_URL = (400, 403)
MAX_URL_RENEWALS = 3
CHUNK = 1 << 20
#: Each format's reader: ``(chunks, sized)``, ``sized`` when the HTTP layer checks the
#: body against its ``Content-Length`` (a cut body is then an error there already).
#: ``required``: the columns a CSV header must name (the record's key and replication key);
#: ``keys``: the JSON key each CSV header names; ``row_cap``: the rows a file holds at
#: most (a JSON file's ``total`` may be more when it was cut there).
Parser = t.Callable[[t.Iterable[bytes], bool, tuple[str, ...], t.Callable[[str], str], int | None],
                    t.Iterator[dict[str, t.Any]]]
PARSERS: dict[str, Parser] = {
    "csv": lambda chunks, sized, required, keys, cap: csv_rows(chunks, ending_required=not sized,
                                                                required=required, column_key=keys),
    "json": lambda chunks, sized, required, keys, cap: json_array_items(chunks, "entries", "total", cap),
    "json_bulk": lambda chunks, sized, required, keys, cap: json_lines(chunks),
}


def api_url(settings: Mapping[str, t.Any]) -> str:
    """The API root: ``talkdesk.api_url``, else the region's."""
    return str(settings.get("api_url") or REGIONS[settings["region"]][0])


def token_url(settings: Mapping[str, t.Any]) -> str:
    """The token endpoint: ``talkdesk.oauth_url``, else the region's for the account."""
    return str(settings.get("oauth_url") or REGIONS[settings["region"]][1].format(
        account=settings["account_name"]))


def talkdesk_client(
    settings: Mapping[str, t.Any], request: RequestSettings, logger: logging.Logger
) -> VendorClient:
    """OAuth client credentials with the report scopes; the ~10-minute token is renewed
    a minute before it expires and after a 401, also while jobs are being polled."""
    auth = ClientCredentialsAuth(
        token_url=token_url(settings),
        client_id=str(settings["client_id"]),
        client_secret=str(settings["client_secret"]),
        form={"grant_type": "client_credentials", "scope": SCOPE},
        vendor=LABEL,
        credential_settings=CREDENTIAL_SETTINGS,
        policy=request.retry_policy,
        timeout=request.timeout,
    )
    return VendorClient(label=LABEL, base_url=api_url(settings), settings=request, logger=logger,
                        auth=auth, credential_settings=CREDENTIAL_SETTINGS)


def utc_z(moment: datetime) -> str:
    """An instant as ``YYYY-MM-DDTHH:MM:SSZ`` (the job's name)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def job_time(moment: datetime, zone: tzinfo) -> str:
    """An instant as the job's timezone's wall time with its offset there: the same instant
    whether Talkdesk reads the offset or applies the timezone to the wall time. (A wall
    time in a repeated hour read by the timezone alone would be ambiguous; window bounds
    fall there only for zones whose clocks change near the bound.)"""
    local = moment.astimezone(zone)
    if not local.utcoffset():
        return local.strftime("%Y-%m-%dT%H:%M:%SZ")
    return local.replace(microsecond=0).isoformat()


def _job(body: t.Any) -> Mapping[str, t.Any]:
    """The job object of a reply, wrapped (``{"job": {...}}``) or flat."""
    if isinstance(body, dict):
        inner = body.get("job")
        return inner if isinstance(inner, dict) else body
    return {}


class ExploreReports:
    """The report jobs of one report type of one Talkdesk account (a ``ReportJobAPI``)."""

    label = LABEL

    def __init__(self, client: VendorClient, *, timezone: str, report_format: str, row_cap: int,
                 key_columns: tuple[str, ...] = (), report: str = CALLS_REPORT,
                 column_key: t.Callable[[str], str] = column_key) -> None:
        self.client = client
        self.report = report
        self.path = f"/data/reports/{report}"
        self.key_columns = key_columns
        self.column_key = column_key
        self.row_cap: int | None = row_cap
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.report_format = report_format
        self.parse = PARSERS[report_format]

    def submit(self, window: Window) -> str | QuotaFull:
        body = {
            "name": f"tap-callrecords {self.report} {utc_z(window.start)} to {utc_z(window.end)}",
            "timezone": self.timezone,
            "format": self.report_format,
            "timespan": {"from": job_time(window.start, self.zone), "to": job_time(window.end, self.zone)},
        }
        reply = self.client.post_json(f"{self.path}/jobs", body, refusals=(QUOTA_FULL, NOT_ENTITLED),
                                      creates=True)
        if isinstance(reply, Refused):
            if reply.response.status_code == NOT_ENTITLED:
                raise ReportNotEntitled(
                    f"{LABEL} refused to create a {self.report} report job (HTTP 403: the account is "
                    "not entitled to this report, or the OAuth client may not read it)"
                )
            return QuotaFull(retry_after_seconds(reply.response))
        job_id = _job(reply.body).get("id")
        if not isinstance(job_id, str | int) or isinstance(job_id, bool) or job_id == "":
            raise VendorAPIError(f"{LABEL}: the reply to a new report job holds no job id")
        return str(job_id)

    def status(self, job_id: str) -> tuple[JobState, str]:
        reply = self.client.get_json_or_redirect(f"{self.path}/jobs/{job_id}", what=f"{self.path}/jobs/<id>")
        if isinstance(reply, Redirect):
            return JobState.DONE, "done"
        status = str(_job(reply.body).get("status") or "").lower()
        if status == "done":
            return JobState.DONE, status
        if status in ENDED:
            return JobState.FAILED, status
        return JobState.RUNNING, status or "unknown"

    def download(self, job_id: str) -> Iterator[dict[str, t.Any]] | None:
        for _ in range(MAX_URL_RENEWALS):
            files = self.client.get_json_or_redirect(f"{self.path}/files/{job_id}",
                                                     what=f"{self.path}/files/<id>")
            if not isinstance(files, Redirect):
                return None  # the job's body again: the file is not ready
            if files.location is None:
                raise VendorAPIError(f"{LABEL}: the files endpoint redirected without a Location")
            file = self.client.stream_file(files.location, what="the report file", refusals=EXPIRED_URL)
            if isinstance(file, Refused):
                self.client.logger.info("%s: the download URL of job %s has expired; asking for a new one",
                                        LABEL, job_id)
                continue
            return self._rows(file)
        raise VendorAPIError(
            f"{LABEL}: the download URL of report job {job_id} was refused {MAX_URL_RENEWALS} times "
            "(expired or rejected by the object store)."
        )

    def _rows(self, file: FileStream) -> Iterator[dict[str, t.Any]]:
        with file:
            yield from self.parse(file.chunks(CHUNK), file.length_checked, self.key_columns, self.column_key,
                                  self.row_cap)

    def delete(self, job_id: str, *, retry: bool) -> None:
        # A 404 is a file already gone (a retried delete whose first reply was lost).
        self.client.delete(f"{self.path}/files/{job_id}", what=f"{self.path}/files/<id>", retry=retry,
                           refusals=(404,))

    def cancel(self, job_id: str) -> None:
        # Gone, not cancellable, or finished already: nothing left running either way.
        self.client.delete(f"{self.path}/jobs/{job_id}", what=f"{self.path}/jobs/<id>", retry=False,
                           refusals=(404, 405, 409))
