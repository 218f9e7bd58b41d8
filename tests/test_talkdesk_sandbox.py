"""The sandbox's Talkdesk Explore API itself, over real HTTP: what the tap will be tested
against has to behave as documented first (jobs, quota, pre-signed URLs, files)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from tap_callrecords.sandbox.talkdesk import COLUMNS_2026, LEGACY_COLUMNS, TOKEN_PREFIX, TalkdeskAPI

SCOPE = "data-reports:read data-reports:write"
JOBS = "/data/reports/explore_calls/jobs"
FILES = "/data/reports/explore_calls/files"
DAY = {"from": "2024-07-01T00:00:00Z", "to": "2024-07-02T00:00:00Z"}
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


class Talkdesk:
    """A bare client of the sandbox's Talkdesk API (the tap's own comes later)."""

    def __init__(self, sandbox: Any) -> None:
        self.settings = TalkdeskAPI.tap_settings(sandbox.url)
        self.http = requests.Session()
        self.token = self.ask_token().json()["access_token"]

    def ask_token(self, scope: str = SCOPE, secret: str | None = None) -> requests.Response:
        return self.http.post(self.settings["oauth_url"],
                              auth=(self.settings["client_id"], secret or self.settings["client_secret"]),
                              data={"grant_type": "client_credentials", "scope": scope})

    def call(self, method: str, path: str, headers: dict[str, str] | None = None,
             **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        return self.http.request(method, self.settings["api_url"] + path, headers=headers,
                                 allow_redirects=False, **kwargs)

    def create(self, file_format: str = "csv", timezone: str = "UTC", **timespan: str) -> requests.Response:
        return self.call("POST", JOBS, json={"name": "calls", "timezone": timezone, "format": file_format,
                                             "timespan": {**DAY, **timespan}})

    def job_id(self, **kwargs: Any) -> str:
        reply = self.create(**kwargs)
        assert reply.status_code == 202, reply.text
        return str(reply.json()["job"]["id"])

    def wait_done(self, job_id: str, timeout: float = 5) -> requests.Response:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self.call("GET", f"{JOBS}/{job_id}")
            if reply.status_code != 200 or reply.json()["job"]["status"] not in ("created", "processing",
                                                                                  "uploading"):
                return reply
            time.sleep(0.02)
        raise AssertionError("job still running")

    def file_url(self, job_id: str) -> str:
        reply = self.call("GET", f"{FILES}/{job_id}")
        assert reply.status_code == 303, reply.text
        return reply.headers["Location"]

    def download(self, job_id: str) -> str:
        self.wait_done(job_id)
        reply = self.http.get(self.file_url(job_id))
        assert reply.status_code == 200, reply.text
        return reply.content.decode()


@pytest.fixture
def talkdesk(sandbox) -> Talkdesk:
    sandbox.configure("talkdesk", job_duration=0.05)
    return Talkdesk(sandbox)


def vendor_stats(sandbox) -> dict[str, Any]:
    return sandbox.stats()["talkdesk"]["vendor"]


def assert_talkdesk_error(reply: requests.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"code", "description", "message", "fields"}
    assert isinstance(body["code"], str) and isinstance(body["fields"], list)
    return body


def test_token_needs_client_credentials_and_both_scopes(sandbox, talkdesk):
    assert talkdesk.ask_token(secret="wrong").status_code == 401
    refused = talkdesk.ask_token(scope="data-reports:read")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    granted = talkdesk.ask_token().json()
    assert granted["token_type"] == "Bearer" and granted["expires_in"] == 600
    assert granted["access_token"].startswith(TOKEN_PREFIX) and granted["scope"] == SCOPE

    talkdesk.token = "forged"
    assert_talkdesk_error(talkdesk.create(), 401)
    assert vendor_stats(sandbox)["invalid_access_tokens"] == 1


def test_tokens_expire_and_can_be_revoked(sandbox, talkdesk):
    sandbox.configure("talkdesk", token_lifetime=0)
    talkdesk.token = talkdesk.ask_token().json()["access_token"]
    assert_talkdesk_error(talkdesk.create(), 401)

    # One API request so far; the second after this is the first refused.
    sandbox.configure("talkdesk", token_lifetime=600, revoke_tokens_after=2)
    talkdesk.token = talkdesk.ask_token().json()["access_token"]
    assert talkdesk.create().status_code == 202
    assert_talkdesk_error(talkdesk.create(), 401)  # every token revoked once
    talkdesk.token = talkdesk.ask_token().json()["access_token"]
    assert talkdesk.create().status_code == 202


def test_job_lifecycle_download_and_clean_up(sandbox, talkdesk):
    sandbox.configure("talkdesk", job_duration=0.6, count=100)
    created = talkdesk.create(timezone="America/New_York")
    assert created.status_code == 202
    job = created.json()["job"]
    assert job["status"] == "created" and job["timezone"] == "America/New_York"
    assert job["timespan"] == DAY and job["format"] == "csv"
    assert created.json()["_links"]["files"]["href"].endswith(f"{FILES}/{job['id']}")

    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        reply = talkdesk.call("GET", f"{JOBS}/{job['id']}")
        status = reply.json()["job"]["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if reply.status_code != 200:
            break
        time.sleep(0.02)
    assert seen == ["created", "processing", "uploading", "done"]
    assert reply.status_code == 303
    assert reply.headers["Location"] == f"/talkdesk{FILES}/{job['id']}"

    url = talkdesk.file_url(job["id"])
    assert "/talkdesk/_objects/" in url and "X-Amz-Signature=" in url
    with_auth = talkdesk.http.get(url, headers={"Authorization": f"Bearer {talkdesk.token}"})
    assert with_auth.status_code == 400 and "Only one auth mechanism allowed" in with_auth.text
    plain = talkdesk.http.get(url)
    assert plain.status_code == 200 and plain.headers["Transfer-Encoding"] == "chunked"
    assert plain.headers["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(plain.text, newline="")))
    assert tuple(rows[0]) == COLUMNS_2026 and len(rows) == 1 + 4  # 100 calls over 30 days: 7.2 h apart

    stats = vendor_stats(sandbox)
    assert stats["undeleted_files"] == 1 and stats["jobs_by_status"] == {"done": 1}
    assert talkdesk.call("DELETE", f"{FILES}/{job['id']}").status_code == 204
    assert talkdesk.http.get(url).status_code == 404
    assert talkdesk.call("GET", f"{JOBS}/{job['id']}").json()["job"]["status"] == "deleted"
    assert_talkdesk_error(talkdesk.call("GET", f"{FILES}/{job['id']}"), 404)
    assert_talkdesk_error(talkdesk.call("DELETE", f"{FILES}/{job['id']}"), 404)

    stats = vendor_stats(sandbox)
    assert stats["undeleted_files"] == 0 and stats["running_jobs"] == 0
    assert stats["jobs_by_status"] == {"deleted": 1}
    assert stats["tokens_issued"] == 1 and stats["jobs_created"] == 1 and stats["urls_issued"] == 1
    assert stats["auth_header_on_object_store"] == 1 and stats["status_polls"] >= 4
    assert stats["downloads_completed"] == 1 and stats["rows_served"] == 4
    assert stats["timespans"] == [{**DAY, "timezone": "America/New_York", "format": "csv",
                                   "from_utc": "2024-07-01T00:00:00+00:00",
                                   "to_utc": "2024-07-02T00:00:00+00:00"}]


@pytest.mark.parametrize(("body", "field"), [
    ({"timespan": {"from": "2024-07-02T00:00:00Z", "to": "2024-07-01T00:00:00Z"}}, "timespan.to"),
    ({"timespan": {"from": "2024-06-01T00:00:00Z", "to": "2024-07-02T00:00:01Z"}}, "timespan"),
    ({"timespan": {"from": "2999-01-01T00:00:00Z", "to": "2999-01-02T00:00:00Z"}}, "timespan.to"),
    ({"timespan": {"from": "July 1st", "to": "2024-07-02T00:00:00Z"}}, "timespan.from"),
    ({"timezone": "EST+5"}, "timezone"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": None}, "timezone"),
    ({"format": "xlsx"}, "format"),
    ({"timespan": "last week"}, "timespan"),
])
def test_invalid_jobs_are_rejected(sandbox, talkdesk, body, field):
    job = {"name": "calls", "timezone": "UTC", "format": "csv", "timespan": DAY, **body}

    error = assert_talkdesk_error(talkdesk.call("POST", JOBS, json=job), 400)

    assert error["fields"] and error["fields"][0]["name"] == field and error["fields"][0]["description"]
    assert vendor_stats(sandbox)["jobs_rejected"] == 1


def test_malformed_body_and_the_limits_that_pass(sandbox, talkdesk):
    assert_talkdesk_error(talkdesk.call("POST", JOBS, data=b"{not json",
                                        headers={"Content-Type": "application/json"}), 400)
    thirty_one_days = {"from": "2024-06-01T00:00:00Z", "to": "2024-07-02T00:00:00Z"}
    assert talkdesk.create(**thirty_one_days).status_code == 202
    just_now = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()
    assert talkdesk.create(**{"from": just_now, "to": just_now}).status_code == 202  # empty, not future

    # Without an offset, from/to are read in the job's timezone.
    assert talkdesk.create(timezone="Asia/Kolkata", **{"from": "2024-07-01 05:30:00",
                                                       "to": "2024-07-02T05:30:00"}).status_code == 202
    assert vendor_stats(sandbox)["timespans"][-1]["from_utc"] == "2024-07-01T00:00:00+00:00"


def test_quota_counts_jobs_held_by_someone_else(sandbox, talkdesk):
    sandbox.configure("talkdesk", job_duration=30, held_jobs=13, held_for=30)
    first, second = talkdesk.job_id(), talkdesk.job_id()

    refused = talkdesk.create()
    assert_talkdesk_error(refused, 429)
    assert "Retry-After" not in refused.headers
    sandbox.configure("talkdesk", quota_retry_after=7)
    assert talkdesk.create().headers["Retry-After"] == "7"

    assert talkdesk.call("DELETE", f"{JOBS}/{first}").status_code == 204
    assert talkdesk.call("GET", f"{JOBS}/{first}").json()["job"]["status"] == "canceled"
    talkdesk.job_id()
    stats = vendor_stats(sandbox)
    assert stats["quota_rejections"] == 2 and stats["max_concurrent_jobs"] == 2
    assert stats["running_jobs"] == 2 and stats["held_jobs_active"] == 13 and stats["jobs_canceled"] == 1
    assert stats["jobs_by_status"] == {"canceled": 1, "created": 2}

    sandbox.configure("talkdesk", held_jobs=0)
    for _ in range(13):
        talkdesk.job_id()
    assert_talkdesk_error(talkdesk.create(), 429)  # second, third and 13 more: 15 of the tap's own
    assert vendor_stats(sandbox)["max_concurrent_jobs"] == 15
    assert talkdesk.call("GET", f"{JOBS}/{second}").json()["job"]["status"] == "created"


def test_pre_signed_urls_expire(sandbox, talkdesk):
    sandbox.configure("talkdesk", url_ttl=0.3)
    job_id = talkdesk.job_id()
    talkdesk.wait_done(job_id)
    url = talkdesk.file_url(job_id)
    time.sleep(0.35)

    expired = talkdesk.http.get(url)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code>" in expired.text and "Request has expired" in expired.text
    assert talkdesk.http.get(talkdesk.file_url(job_id)).status_code == 200  # ask the files endpoint again

    sandbox.configure("talkdesk", url_ttl=60, expire_urls=1)
    assert talkdesk.http.get(talkdesk.file_url(job_id)).status_code == 403
    assert talkdesk.http.get(talkdesk.file_url(job_id)).status_code == 200
    assert talkdesk.http.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0")).status_code == 403
    stats = vendor_stats(sandbox)
    assert stats["expired_url_requests"] == 2 and stats["urls_issued"] == 4


def test_failed_jobs_flat_replies_and_done_status_variants(sandbox, talkdesk):
    sandbox.configure("talkdesk", fail_jobs=1, flat_job_reply=True, done_status=300)
    failed = talkdesk.create()
    assert failed.status_code == 202 and failed.json()["status"] == "created"  # the job itself, flat
    failed_id = failed.json()["id"]
    time.sleep(0.1)
    assert talkdesk.call("GET", f"{JOBS}/{failed_id}").json()["status"] == "failed"
    assert talkdesk.call("GET", f"{FILES}/{failed_id}").json()["status"] == "failed"

    done_id = talkdesk.create().json()["id"]
    time.sleep(0.1)
    reply = talkdesk.call("GET", f"{JOBS}/{done_id}")
    assert reply.status_code == 300 and reply.headers["Location"].endswith(f"{FILES}/{done_id}")

    sandbox.configure("talkdesk", done_status=200, flat_job_reply=False, fail_all_jobs=True)
    assert talkdesk.call("GET", f"{JOBS}/{done_id}").json()["job"]["status"] == "done"
    talkdesk.wait_done(last := talkdesk.job_id())
    assert talkdesk.call("GET", f"{JOBS}/{last}").json()["job"]["status"] == "failed"
    assert vendor_stats(sandbox)["jobs_by_status"] == {"failed": 2, "done": 1}


@pytest.mark.parametrize("payload", ["2026", "legacy"])
def test_three_formats_hold_the_same_rows(sandbox, talkdesk, payload):
    sandbox.configure("talkdesk", count=3000, payload=payload)
    window = {"from": "2024-07-03T00:00:00+05:30", "to": "2024-07-05T00:00:00+05:30"}
    texts = {f: talkdesk.download(talkdesk.job_id(file_format=f, timezone="Asia/Kolkata", **window))
             for f in ("csv", "json", "json_bulk")}

    reader = csv.DictReader(io.StringIO(texts["csv"], newline=""))
    from_csv = list(reader)
    document = json.loads(texts["json"])
    from_bulk = [json.loads(line) for line in texts["json_bulk"].splitlines()]

    assert tuple(reader.fieldnames or ()) == (COLUMNS_2026 if payload == "2026" else LEGACY_COLUMNS)
    assert document["entries"] == from_bulk
    assert document["total"] == len(from_csv) == 200  # two days of a 30-day set
    for row, entry in zip(from_csv, from_bulk, strict=True):
        assert row == {k: "" if v is None else str(v) if not isinstance(v, float) else row[k]
                       for k, v in entry.items()}
        for name in ("talk_time", "waiting_time", "holding_time", "agent_speed_to_answer"):
            assert (row[name] == "") == (entry[name] is None)
            assert entry[name] is None or float(row[name]) == entry[name] < 1  # a fraction of a day
        assert LOCAL_TIME.match(row["start_time"]) and LOCAL_TIME.match(row["end_time"])
        assert "2024-07-03 00:00:00" <= row["start_time"] < "2024-07-05 00:00:00"  # India time
        assert row["in_business_hours?"] in ("TRUE", "FALSE") and row["transfer?"] in ("Yes", "No")
    assert len({row["interaction_id"] for row in from_csv}) == 200
    assert any("\n" in row["description"] for row in from_csv)  # quoted multi-line cells
    assert any('"' in row["description"] for row in from_csv)


def test_the_2026_readings_in_seconds_and_utc(sandbox, talkdesk):
    sandbox.configure("talkdesk", duration_unit="seconds", time_format="utc_z")
    entries = json.loads(talkdesk.download(talkdesk.job_id(file_format="json")))["entries"]

    assert entries and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["start_time"]) for e in entries)
    assert all(type(e["talk_time"]) is int for e in entries)
    assert any(e["talk_time"] > 60 for e in entries)


def test_row_cap_truncates_the_file(sandbox, talkdesk):
    sandbox.configure("talkdesk", count=3000, row_cap=40)

    document = json.loads(talkdesk.download(talkdesk.job_id(file_format="json")))
    rows = list(csv.reader(io.StringIO(talkdesk.download(talkdesk.job_id()), newline="")))

    assert document["total"] == len(document["entries"]) == 40
    assert len(rows) == 1 + 40
    assert vendor_stats(sandbox)["capped_files"] == 2


def test_added_records_are_rendered_in_the_job_timezone(sandbox, talkdesk):
    sandbox.configure("talkdesk", count=0)
    sandbox.add_records("talkdesk", {
        "interaction_id": "ab" * 16, "call_type": "inbound", "start_time": "2024-07-01T12:00:00Z",
        "end_time": "2024-07-01T12:01:00+00:00", "talk_time": 0.000694444, "in_business_hours?": "TRUE",
        "user_email": "ana@example.com",
    }, {"interaction_id": "cd" * 16, "start_time": "2024-07-02T12:00:00Z"})  # outside the window

    rows = list(csv.DictReader(io.StringIO(talkdesk.download(
        talkdesk.job_id(timezone="America/New_York")), newline="")))

    assert len(rows) == 1
    assert rows[0]["start_time"] == "2024-07-01 08:00:00" and rows[0]["end_time"] == "2024-07-01 08:01:00"
    assert rows[0]["user_email"] == "ana@example.com" and rows[0]["talk_time"] == "0.000694444"
    assert rows[0]["agent_name"] == ""


def test_a_download_can_be_cut_midway(sandbox, talkdesk):
    sandbox.configure("talkdesk", count=20_000)
    job_id = talkdesk.job_id(**{"from": "2024-07-01T00:00:00Z", "to": "2024-07-31T00:00:00Z"})
    talkdesk.wait_done(job_id)
    sandbox.faults("talkdesk", {"drop": True, "drop_after_bytes": 300_000, "path": "/_objects"})

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        talkdesk.http.get(talkdesk.file_url(job_id)).content  # noqa: B018

    whole = talkdesk.http.get(talkdesk.file_url(job_id)).content
    assert len(whole) > 300_000 and whole.count(b"\r\n") > 20_000
    stats = vendor_stats(sandbox)
    assert stats["downloads_started"] == 2 and stats["downloads_completed"] == 1


def test_a_large_file_is_streamed(sandbox, talkdesk):
    sandbox.configure("talkdesk", count=200_000)
    job_id = talkdesk.job_id(**{"from": "2024-07-01T00:00:00Z", "to": "2024-07-31T00:00:00Z"})
    talkdesk.wait_done(job_id)

    started = time.perf_counter()
    lines = chunks = 0
    with talkdesk.http.get(talkdesk.file_url(job_id), stream=True) as reply:
        for chunk in reply.iter_content(1 << 20):
            chunks += 1
            lines += chunk.count(b"\r\n")
    elapsed = time.perf_counter() - started

    assert lines == 200_001
    assert chunks > 10
    assert elapsed < 10  # ~0.7 s measured; the bound only catches a pathological slowdown


def test_object_store_on_another_host_name(sandbox, talkdesk):
    """With ``object_host`` the pre-signed URL names another host, as S3's does: a client
    that follows the redirect drops its Authorization header there by itself."""
    sandbox.configure("talkdesk", object_host="localhost")
    job_id = talkdesk.job_id()
    talkdesk.wait_done(job_id)

    url = talkdesk.file_url(job_id)
    followed = talkdesk.http.get(f"{talkdesk.settings['api_url']}{FILES}/{job_id}",
                                 headers={"Authorization": f"Bearer {talkdesk.token}"})

    assert url.startswith(f"http://localhost:{sandbox.url.rsplit(':', 1)[1]}/talkdesk/_objects/")
    assert followed.status_code == 200 and followed.text.startswith("interaction_id,")
    assert vendor_stats(sandbox)["auth_header_on_object_store"] == 0


def test_faults_aimed_by_method_and_at_the_token_endpoint(sandbox, talkdesk):
    job_id = talkdesk.job_id()
    talkdesk.wait_done(job_id)
    sandbox.faults("talkdesk", {"status": 503, "path": FILES, "method": "DELETE"},
                   {"status": 429, "path": "/oauth/token"})

    assert talkdesk.call("GET", f"{FILES}/{job_id}").status_code == 303  # a GET passes the DELETE's fault
    assert talkdesk.call("DELETE", f"{FILES}/{job_id}").status_code == 503
    assert talkdesk.ask_token().status_code == 429  # aimed at the token endpoint: it applies
    sandbox.faults("talkdesk", {"status": 500})
    assert talkdesk.ask_token().status_code == 200  # a fault aimed nowhere in particular does not
    assert talkdesk.call("DELETE", f"{FILES}/{job_id}").status_code == 500
    assert talkdesk.call("DELETE", f"{FILES}/{job_id}").status_code == 204
    assert sandbox.stats()["talkdesk"]["faults_served"] == {
        f"DELETE {FILES} 503": 1, "* /oauth/token 429": 1, "* * 500": 1}
