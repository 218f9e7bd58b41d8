"""The shared machinery, checked directly: windows, Retry-After, bookmarks, redaction."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_callrecords.core.auth import QueryParamAuth
from tap_callrecords.core.convert import as_seconds, utc_times
from tap_callrecords.core.redact import SECRETS, RedactingStream, redact
from tap_callrecords.core.retry import RetryPolicy, retry_after_seconds
from tap_callrecords.core.state import advance_bookmark, read_bookmark
from tap_callrecords.core.windows import floor_to_day, iter_windows, sync_range

UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_windows_cover_the_range_without_gaps_or_overlaps_including_empty_ones():
    start, end = at("2024-07-01T10:30:00+00:00"), at("2024-07-04T06:00:00+00:00")
    windows = list(iter_windows(start, end, timedelta(days=1), floor_to_day))
    assert [(w.start.isoformat(), w.end.isoformat()) for w in windows] == [
        ("2024-07-01T10:30:00+00:00", "2024-07-02T00:00:00+00:00"),
        ("2024-07-02T00:00:00+00:00", "2024-07-03T00:00:00+00:00"),
        ("2024-07-03T00:00:00+00:00", "2024-07-04T00:00:00+00:00"),
        ("2024-07-04T00:00:00+00:00", "2024-07-04T06:00:00+00:00"),
    ]
    assert list(iter_windows(end, end, timedelta(days=1))) == []


def test_sync_range_applies_lookback_latency_and_start_date():
    now = at("2024-07-10T12:00:00+00:00")
    first = sync_range(start_date=at("2024-07-01T00:00:00+00:00"), end_date=None, now=now,
                       latency=timedelta(minutes=5), bookmark=None, lookback=timedelta(hours=3))
    assert (first.start, first.end) == (at("2024-07-01T00:00:00+00:00"), at("2024-07-10T11:55:00+00:00"))
    later = sync_range(start_date=at("2024-07-01T00:00:00+00:00"), end_date=None, now=now,
                       latency=timedelta(minutes=5), bookmark=at("2024-07-10T10:00:00+00:00"),
                       lookback=timedelta(hours=3))
    assert later.start == at("2024-07-10T07:00:00+00:00")
    clamped = sync_range(start_date=at("2024-07-10T09:00:00+00:00"), end_date=None, now=now,
                         latency=timedelta(0), bookmark=at("2024-07-10T10:00:00+00:00"),
                         lookback=timedelta(hours=3))
    assert clamped.start == at("2024-07-10T09:00:00+00:00")


def test_sync_range_never_ends_in_the_future():
    now = at("2024-07-10T12:00:00+00:00")
    start = at("2024-07-01T00:00:00+00:00")
    future_end = sync_range(start_date=start, end_date=at("2024-08-01T00:00:00+00:00"),
                            now=now, latency=timedelta(minutes=5), bookmark=None, lookback=timedelta(0))
    assert future_end.end == at("2024-07-10T11:55:00+00:00")
    past_end = sync_range(start_date=start, end_date=at("2024-07-05T00:00:00+00:00"),
                          now=now, latency=timedelta(minutes=5), bookmark=None, lookback=timedelta(0))
    assert past_end.end == at("2024-07-05T00:00:00+00:00")


def response_with(retry_after: str | None) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


def test_retry_after_as_seconds_http_date_and_iso_date():
    now = datetime(2024, 7, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    assert retry_after_seconds(response_with("7"), now=now) == 7
    assert retry_after_seconds(response_with("Mon, 01 Jul 2024 12:00:30 GMT"), now=now) == 30
    assert retry_after_seconds(response_with("2024-07-01T14:00:00Z"), now=now) == 7200
    assert retry_after_seconds(response_with("9" * 40), now=now) == 10 * 365 * 86_400  # capped
    assert retry_after_seconds(response_with(None), now=now) is None
    assert retry_after_seconds(response_with("soon"), now=now) is None


def test_backoff_is_exponential_with_jitter_and_capped():
    policy = RetryPolicy(initial_wait=1, max_wait=8)
    waits = [policy.exponential_wait(attempt) for attempt in range(6)]
    for attempt, wait in enumerate(waits):
        ceiling = min(8, 2**attempt)
        assert ceiling / 2 <= wait <= ceiling


def test_bookmark_is_utc_and_never_moves_backwards():
    state: dict = {}
    assert advance_bookmark(state, "ts", at("2024-07-02T00:00:00-03:00"))
    assert state == {"replication_key": "ts", "replication_key_value": "2024-07-02T03:00:00.000000+00:00"}
    assert not advance_bookmark(state, "ts", at("2024-07-01T00:00:00+00:00"))
    assert state["replication_key_value"] == "2024-07-02T03:00:00.000000+00:00"
    assert read_bookmark(state, "other_key") is None


def test_conversions():
    times = utc_times(UTC)
    assert times.strict("2024-07-31T12:43:09.000-03:00") == "2024-07-31T15:43:09.000000+00:00"
    assert times.strict("2024-07-31T12:43:09Z") == "2024-07-31T12:43:09.000000+00:00"
    assert as_seconds("00:01:19") == 79
    assert as_seconds("48:16:27") == 173_787
    assert as_seconds(None) is None
    assert as_seconds("n/a") is None


def test_redaction_masks_registered_secrets_and_credential_shapes():
    SECRETS.add("s3cr3t-value-xyz")
    text = redact("GET /cdr?key=abc123&page=2 failed; token s3cr3t-value-xyz; "
                  "Authorization: Bearer abcdefghijk")
    assert "s3cr3t-value-xyz" not in text and "abc123" not in text and "abcdefghijk" not in text
    assert "page=2" in text
    sink = io.StringIO()
    stream = RedactingStream(sink)
    stream.write("split s3cr3t-")
    stream.write("value-xyz across writes\n")
    assert "s3cr3t" not in sink.getvalue()


def test_query_param_auth_is_idempotent_on_retries():
    request = requests.Request("GET", "http://h/api?page=1", params={"per_page": 5}).prepare()
    auth = QueryParamAuth("key", "k1")
    auth(auth(request))
    assert request.url == "http://h/api?key=k1&page=1&per_page=5"


def test_a_rejected_token_is_retried_at_once_and_rate_limits_wait():
    from tap_callrecords.core.errors import TokenRejected

    policy = RetryPolicy(initial_wait=4, max_wait=8)
    waits = policy.waits("Vendor")
    next(waits)
    assert waits.send(TokenRejected("401", response_with(None))) == 0.0
    limited = RetriableAPIError("429", response_with("3"))
    assert 3 <= waits.send(limited) <= 3.25
    # the second counted retry: full jitter within [ceiling / 2, ceiling] for ceiling 8
    assert 4 <= waits.send(RetriableAPIError("503", response_with(None))) <= 8


def test_environment_proxies_are_resolved_once_per_origin_and_still_honoured(monkeypatch):
    from tap_callrecords.core.http import VendorHTTPSession

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "skip.example")
    session = VendorHTTPSession()
    seen: list[dict] = []
    monkeypatch.setattr(requests.Session, "send", lambda self, request, **kw: seen.append(kw["proxies"]))
    for url in ("https://api.example/a", "https://api.example/b", "https://skip.example/c"):
        session.send(requests.Request("GET", url).prepare())

    assert seen[0]["https"] == "http://proxy.internal:3128"
    assert seen[1] is seen[0]
    assert "https" not in seen[2]


def test_lenient_coercions_read_loose_vendor_values_and_null_the_unreadable():
    from tap_callrecords.core.convert import as_bool, as_int, as_number, as_text

    assert [as_int(v) for v in (7, "7", "7.6", 7.0, "", None, "N.A.", True)] == [
        7, 7, 8, 7, None, None, None, None]
    assert [as_number(v) for v in (0.5, "0.5", 2, "", "x")] == [0.5, 0.5, 2, None, None]
    assert [as_bool(v) for v in ("Yes", "No", "TRUE", 0, True, "maybe", None)] == [
        True, False, True, False, True, None, None]
    assert [as_text(v) for v in (53273, "a", None)] == ["53273", "a", None]
