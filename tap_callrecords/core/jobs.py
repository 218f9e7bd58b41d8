"""Fetcher: report jobs. Submit one job per window, poll at their own pace, stream each file.

Some vendors hand out call records only as report files: a job is submitted for a time
span, polled until the vendor has built the file, and the file is downloaded. The
vendor's :class:`ReportJobAPI` says how (paths, bodies, statuses, file format); this
module says when:

- **In parallel, emitted in order.** Up to ``max_concurrent`` jobs run at once (the
  vendor builds files while the tap waits), but windows are handed to the stream in
  time order, so the bookmark still advances window by window.
- **Polling is not retrying.** Each job is polled on its own growing interval (0.5 s,
  then 1.5 times longer each time, at most 30 s): no busy polling, and waiting for a
  slow job never spends the retry budget that protects each request.
- **Quota.** A "quota full" answer to a submission waits and submits again, while the
  jobs already running are polled: as long as the vendor's ``Retry-After`` asks, else
  1 s, then twice as long each time (at most a minute); a quota that stays full for
  ``job_timeout`` ends the run with one clear error.
- **Failures.** A job that fails, is canceled by someone, or outlives ``job_timeout`` is
  submitted again, at most ``max_attempts`` times, then the run stops naming the window
  and the job; nothing past the last complete window is claimed.
- **Streams, not files.** Rows are yielded while the file downloads; a download cut off
  midway is fetched again and the rows already yielded are skipped.
- **Row cap.** A file that holds ``row_cap`` rows may be truncated: its window is split
  in two and each half read again (rows seen twice are the same calls, same keys).
- **Clean-up.** Each file is deleted once its rows are written, through the retry
  policy (a 429, a 5xx or a dropped connection must not leave it stored); on the way out
  (end, error, SIGTERM, SIGINT) every job still running is cancelled and every file not
  yet deleted is deleted, one attempt each so that leaving never lingers, and nothing is
  left eating the vendor's quota.
"""

from __future__ import annotations

import enum
import time
import typing as t
from collections import deque
from dataclasses import dataclass

from tap_callrecords.core.errors import CreationUnconfirmed, VendorAPIError
from tap_callrecords.core.files import MalformedFile
from tap_callrecords.core.retry import RETRIABLE_ERRORS, RetryPolicy, describe_failure
from tap_callrecords.core.windows import Window

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterable, Iterator, Mapping


#: A download that ends in one of these is fetched again.
DOWNLOAD_ERRORS: tuple[type[Exception], ...] = (*RETRIABLE_ERRORS, MalformedFile)


class JobState(enum.Enum):
    """Where a job stands, whatever the vendor calls its statuses."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ReportNotEntitled(VendorAPIError):
    """The vendor refused to create a report of this type for the account (a 403): the
    stream that reads it ends, claiming nothing, and the others go on."""


class JobSlots:
    """The report jobs one account runs at once, counted across every fetcher of it.

    Each fetcher registers the jobs it has in flight; a job may be submitted only while
    fewer than ``limit`` of all of them run, whichever report they are for.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._inflight: list[tuple[object, deque[Job]]] = []

    def register(self, owner: object, inflight: deque[Job]) -> None:
        self._inflight.append((owner, inflight))

    def unregister(self, inflight: deque[Job]) -> None:
        self._inflight = [each for each in self._inflight if each[1] is not inflight]

    def free_besides(self, owner: object, running: int) -> bool:
        """Whether ``owner``, running ``running`` jobs, may submit one more (the jobs of
        other fetchers counted; ``owner``'s own are its business)."""
        others = sum(job.state is JobState.RUNNING
                     for each, inflight in self._inflight if each is not owner for job in inflight)
        return others + running < self.limit


@dataclass(frozen=True)
class QuotaFull:
    """A submission refused because the vendor's job quota is full, and the seconds its
    ``Retry-After`` asked to wait (``None`` if it did not say)."""

    retry_after: float | None = None


class ReportJobAPI(t.Protocol):
    """A vendor's report-job endpoints, as the job fetcher uses them."""

    label: str
    #: Rows a file holds at most (a file of this many may be truncated); ``None``: no cap.
    row_cap: int | None

    def submit(self, window: Window) -> str | QuotaFull:
        """Ask for a report of ``window``; its job id, or :class:`QuotaFull`."""

    def status(self, job_id: str) -> tuple[JobState, str]:
        """The job's state and the vendor's own word for it."""

    def download(self, job_id: str) -> Iterator[Mapping[str, t.Any]] | None:
        """The file's rows, streamed; ``None`` if the file is not ready yet."""

    def delete(self, job_id: str, *, retry: bool) -> None:
        """Delete the job's file: retried as any request with ``retry``, else one attempt
        (failures are logged by the caller)."""

    def cancel(self, job_id: str) -> None:
        """Cancel a job that has not finished (one attempt)."""


@dataclass
class Job:
    """One submitted job for one window."""

    window: Window
    id: str
    attempt: int
    submitted_at: float
    poll_interval: float
    next_poll_at: float
    state: JobState = JobState.RUNNING
    status: str = "created"
    cleaned: bool = False

    def restart(self, job_id: str, now: float, first_poll: float) -> None:
        """The window's next attempt, as job ``job_id``."""
        self.id, self.attempt, self.state, self.status = job_id, self.attempt + 1, JobState.RUNNING, "created"
        self.submitted_at, self.poll_interval, self.next_poll_at = now, first_poll, now + first_poll


class JobFetcher:
    """Reads windows through report jobs, several at once, in window order."""

    first_poll_seconds = 0.5
    poll_growth = 1.5
    max_poll_seconds = 30.0
    max_attempts = 3
    #: A window shorter than this is not split further when its file hits the row cap.
    min_split_seconds = 60.0

    def __init__(
        self,
        api: ReportJobAPI,
        *,
        max_concurrent: int,
        job_timeout: float,
        retry_policy: RetryPolicy,
        logger: logging.Logger,
        slots: JobSlots | None = None,
    ) -> None:
        """``slots``: shared by every fetcher of the account (else this fetcher's own)."""
        self.api = api
        self.max_concurrent = max_concurrent
        self.slots = slots or JobSlots(max_concurrent)
        self.job_timeout = job_timeout
        self.retry_policy = retry_policy
        self.logger = logger
        self._quota_retry_at = 0.0
        self._quota_full_since: float | None = None
        self._quota_wait = 0.0

    # -- The fetcher protocol ---------------------------------------------------------

    def read(self, windows: Iterable[Window]) -> Iterator[tuple[Window, Iterator[Mapping[str, t.Any]]]]:
        """Each window with its rows, in order; a window's rows must be consumed before the next."""
        return self._read(windows, self.max_concurrent)

    def _read(
        self, windows: Iterable[Window], at_once: int
    ) -> Iterator[tuple[Window, Iterator[Mapping[str, t.Any]]]]:
        pending = deque(windows)
        inflight: deque[Job] = deque()
        self.slots.register(self, inflight)
        try:
            while pending or inflight:
                self._fill(pending, inflight, at_once)
                if not inflight:  # the quota is full, or other reports hold every slot
                    self._sleep_until(max(self._quota_retry_at, time.monotonic() + self.first_poll_seconds))
                    continue
                head = inflight[0]
                self._wait_until_done(head, pending, inflight, at_once)
                yield head.window, self._rows(head)
                inflight.popleft()
        finally:
            self.slots.unregister(inflight)
            self._clean_up(inflight)

    # -- Submitting and polling -----------------------------------------------------------

    def _fill(self, pending: deque[Window], inflight: deque[Job], at_once: int) -> None:
        """Submit jobs for the next windows while fewer than ``at_once`` run and the quota allows.

        A finished job waiting for its turn to be read holds no slot (the vendor counts
        running jobs); at most ``2 * at_once`` windows are ahead of the one being read.
        """
        while (
            pending
            and self._running(inflight) < at_once
            and self.slots.free_besides(self, self._running(inflight))
            and len(inflight) < 2 * at_once
            and time.monotonic() >= self._quota_retry_at
        ):
            job_id = self._submit(pending[0])
            if job_id is None:
                return
            now = time.monotonic()
            first = self.first_poll_seconds
            inflight.append(Job(pending.popleft(), job_id, 1, now, first, now + first))

    @staticmethod
    def _running(inflight: Iterable[Job]) -> int:
        return sum(job.state is JobState.RUNNING for job in inflight)

    def _submit(self, window: Window) -> str | None:
        """The new job's id, or ``None`` when the quota is full (see ``_quota_retry_at``).

        A submission whose answer was lost after the job may have been created is never
        sent again (each would hold a slot of the account's quota, and none could be
        cancelled): the run stops naming the window."""
        try:
            job_id = self.api.submit(window)
        except CreationUnconfirmed as exc:
            raise VendorAPIError(
                f"{self.api.label}: the report job for {window} may have been created, but its reply "
                f"was lost ({exc}); it is not submitted again, so the account never holds more jobs "
                "than windows. Run again: the sync resumes from its last STATE."
            ) from None
        if isinstance(job_id, QuotaFull):
            self._quota_full(time.monotonic(), job_id.retry_after)
            return None
        self._quota_full_since = None
        self._quota_wait = 0.0
        self.logger.debug("%s: job %s submitted for %s", self.api.label, job_id, window)
        return job_id

    def _quota_full(self, now: float, retry_after: float | None) -> None:
        if self._quota_full_since is None:
            self._quota_full_since = now
            self.logger.warning(
                "%s: the account's report-job quota is full; waiting for a free slot", self.api.label
            )
        elif now - self._quota_full_since > self.job_timeout:
            raise VendorAPIError(
                f"{self.api.label}: the account's report-job quota stayed full for "
                f"{self.job_timeout / 60:g} minutes (job_timeout_minutes); other reports are using "
                "every slot. Run again later: the sync resumes from its last STATE."
            )
        self._quota_wait = min(60.0, max(1.0, self._quota_wait * 2))
        wait = self._quota_wait
        if retry_after is not None:  # as asked, but never past the quota's patience
            wait = min(retry_after, self.job_timeout)
            self.logger.info("%s: the report-job quota is full; submitting again in %.1f s, as the "
                             "vendor's Retry-After asks", self.api.label, wait)
        self._quota_retry_at = now + wait

    def _wait_until_done(self, head: Job, pending: deque[Window], inflight: deque[Job], at_once: int) -> None:
        """Poll every running job on its own schedule until the head job's file is ready."""
        while head.state is not JobState.DONE:
            now = time.monotonic()
            for job in inflight:
                if job.state is JobState.RUNNING and now >= job.next_poll_at:
                    self._poll(job, now)
            self._fill(pending, inflight, at_once)
            if head.state is JobState.DONE:
                return
            next_polls = [job.next_poll_at for job in inflight if job.state is JobState.RUNNING]
            if pending and self._running(inflight) < at_once:
                next_polls.append(self._quota_retry_at)
            self._sleep_until(min(next_polls))

    def _poll(self, job: Job, now: float) -> None:
        state, status = self.api.status(job.id)
        job.status = status
        if state is JobState.RUNNING and now - job.submitted_at > self.job_timeout:
            self._cancel(job)
            self._retry(job, f"still {status} after {self.job_timeout / 60:g} minutes (job_timeout_minutes)")
            return
        if state is JobState.FAILED:
            self._retry(job, f"ended {status}")
            return
        job.state = state
        job.poll_interval = min(self.max_poll_seconds, job.poll_interval * self.poll_growth)
        job.next_poll_at = now + job.poll_interval

    def _retry(self, job: Job, why: str) -> None:
        """Submit the job's window again, or stop once it has failed ``max_attempts`` times."""
        if job.attempt >= self.max_attempts:
            job.cleaned = True
            raise VendorAPIError(
                f"{self.api.label}: the report job {job.id} for {job.window} {why}, "
                f"{job.attempt} times; the sync stopped after the last complete window."
            )
        self.logger.warning(
            "%s: the report job %s for %s %s; submitting it again (attempt %d of %d)",
            self.api.label, job.id, job.window, why, job.attempt + 1, self.max_attempts,
        )
        while (job_id := self._submit(job.window)) is None:
            self._sleep_until(self._quota_retry_at)
        job.restart(job_id, time.monotonic(), self.first_poll_seconds)

    # -- Downloading ---------------------------------------------------------------------

    def _rows(self, job: Job) -> Iterator[Mapping[str, t.Any]]:
        """The file's rows (downloaded again past a cut, skipping rows already yielded),
        then the rows of the window's halves if the file reached the row cap."""
        yielded = 0
        failures = 0
        while True:
            try:
                rows = self.api.download(job.id)
                if rows is None:  # the status said done before the file was: wait for it
                    self._not_ready(job)
                    continue
                for index, row in enumerate(rows):
                    if index >= yielded:
                        yielded += 1
                        yield row
                break
            except DOWNLOAD_ERRORS as exc:
                failures += 1
                if failures >= self.retry_policy.max_tries:
                    raise VendorAPIError(
                        f"{self.api.label}: giving up on the file of job {job.id} for "
                        f"{job.window} after {failures} attempts: {describe_failure(exc)}"
                    ) from None
                wait = self.retry_policy.exponential_wait(failures - 1)
                self.logger.warning(
                    "%s: the download of job %s failed after %d rows (%s); downloading it again in "
                    "%.1f s, skipping the rows already read (attempt %d of %d)",
                    self.api.label, job.id, yielded, describe_failure(exc), wait, failures + 1,
                    self.retry_policy.max_tries,
                )
                time.sleep(wait)
        self._delete(job, retry=True)
        cap = self.api.row_cap
        if cap is not None and yielded >= cap:
            yield from self._split(job.window, yielded)

    def _not_ready(self, job: Job) -> None:
        if time.monotonic() - job.submitted_at > self.job_timeout:
            raise VendorAPIError(
                f"{self.api.label}: the file of report job {job.id} for {job.window} was "
                f"not ready {self.job_timeout / 60:g} minutes after submission (job_timeout_minutes)."
            )
        time.sleep(job.poll_interval)
        job.poll_interval = min(self.max_poll_seconds, job.poll_interval * self.poll_growth)

    def _split(self, window: Window, rows: int) -> Iterator[Mapping[str, t.Any]]:
        span = window.end - window.start
        if span.total_seconds() < 2 * self.min_split_seconds:
            raise VendorAPIError(
                f"{self.api.label}: the report for {window} holds {rows} rows, the vendor's "
                "cap per file, and the window is too short to split further."
            )
        middle = window.start + span / 2
        self.logger.warning(
            "%s: the report for %s reached the vendor's cap of %d rows and may be cut short; "
            "reading each half of the window again", self.api.label, window, rows,
        )
        # One job at a time: the other windows' jobs may still hold every other slot.
        for _, rows_of_half in self._read([Window(window.start, middle), Window(middle, window.end)], 1):
            yield from rows_of_half

    # -- Clean-up ------------------------------------------------------------------------

    def _delete(self, job: Job, *, retry: bool) -> None:
        job.cleaned = True
        try:
            self.api.delete(job.id, retry=retry)
        except Exception as exc:
            self.logger.warning("%s: could not delete the file of job %s: %s",
                                self.api.label, job.id, describe_failure(exc))

    def _cancel(self, job: Job) -> None:
        try:
            self.api.cancel(job.id)
        except Exception as exc:
            self.logger.warning("%s: could not cancel job %s: %s",
                                self.api.label, job.id, describe_failure(exc))

    def _clean_up(self, inflight: Iterable[Job]) -> None:
        """Cancel what still runs and delete what was built but not read."""
        for job in inflight:
            if job.cleaned:
                continue
            if job.state is JobState.DONE:
                self._delete(job, retry=False)
            else:
                job.cleaned = True
                self._cancel(job)

    @staticmethod
    def _sleep_until(moment: float) -> None:
        delay = moment - time.monotonic()
        if delay > 0:
            time.sleep(delay)
