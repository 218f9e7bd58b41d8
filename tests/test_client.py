"""The client's calls, in-process, over real HTTP to a tiny scripted server on localhost.

Each test scripts the replies of one or two paths, makes one call of
:class:`~tap_callrecords.core.client.VendorClient` and checks the value it hands back
(or the one clear error it raises) and what reached the server.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from singer_sdk.exceptions import RetriableAPIError

from tap_callrecords.core.auth import RenewableTokenAuth
from tap_callrecords.core.client import (
    FileStream,
    JSONReply,
    Page,
    Redirect,
    Refused,
    Reply,
    RequestSettings,
    VendorClient,
)
from tap_callrecords.core.errors import VendorAPIError, VendorAuthError
from tap_callrecords.core.paged import PagedEndpoint, PagedFetcher
from tap_callrecords.core.redact import SECRETS
from tap_callrecords.core.retry import RetryPolicy
from tap_callrecords.core.windows import Window
from tap_callrecords.vendors.smartflo.api import SmartfloDialect
from tap_callrecords.vendors.zoom.api import ZoomDialect
from tap_callrecords.vendors.zoom.paging import NextPageTokenPaginator, PageTokenExpired

POLICY = RetryPolicy(max_tries=3, initial_wait=0.01, max_wait=0.02)


@dataclass
class Scripted:
    """One scripted reply: status, headers, body (JSON unless bytes)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


@dataclass
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedServer:
    """Replies to ``(method, path)`` in the order scripted; the last reply repeats."""

    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], deque[Scripted]] = defaultdict(deque)
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                server.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                queue = server.replies.get((self.command, path))
                scripted = (queue.popleft() if len(queue) > 1 else queue[0]) if queue else Scripted(404)
                payload = scripted.encoded()
                self.send_response(scripted.status)
                for name, value in scripted.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _reply

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def script(self, method: str, path: str, *replies: Scripted) -> None:
        self.replies[(method, path)].extend(replies)

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path.split("?", 1)[0] == path]

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


class CountingTokenAuth(RenewableTokenAuth):
    """Tokens ``token-1``, ``token-2``, ... without a token endpoint: what is tested here is
    what the client does with a 401, not how a vendor hands out tokens."""

    def __init__(self) -> None:
        super().__init__(vendor="Vendor", credential_settings=("vendor.secret",), policy=POLICY, timeout=5)
        self.issued = 0

    def fetch_token(self) -> tuple[str, float]:
        self.issued += 1
        return f"token-{self.issued}", 3600.0


def client_for(server: ScriptedServer, **options: Any) -> VendorClient:
    return VendorClient(label="Vendor", base_url=server.url, logger=logging.getLogger("test_client"),
                        settings=RequestSettings(timeout=5, retry_policy=POLICY),
                        credential_settings=("vendor.secret",), **options)


# -- A page ---------------------------------------------------------------------------------


def test_a_page_carries_its_records_its_decoded_body_and_its_response(server):
    body = {"calls": [{"id": 1}, {"id": 2}], "next_page_token": "abc"}
    server.script("GET", "/calls", Scripted(body=body))
    page = client_for(server).get_page("/calls", {"page_size": 2}, records_key="calls")

    assert isinstance(page, Page)
    assert page.records == [{"id": 1}, {"id": 2}]
    assert page.body == body
    assert page.response.status_code == 200
    assert page.response.request.url == f"{server.url}/calls?page_size=2"
    assert not hasattr(page.response, "parsed_body") and "parsed_body" not in vars(page.response)


def test_a_missing_record_list_is_an_empty_page_only_where_the_count_says_zero(server):
    server.script("GET", "/calls", Scripted(body={"total_records": 0}))
    page = client_for(server).get_page("/calls", {}, records_key="calls", count_key="total_records")
    assert page.records == []


def test_a_reply_of_the_wrong_shape_is_retried_then_one_clear_error(server):
    server.script("GET", "/calls", Scripted(body={"calls": None}))
    client = client_for(server)
    with pytest.raises(VendorAPIError) as raised:
        client.get_page("/calls", {"secret_param": "x"}, records_key="calls")

    assert str(raised.value) == (
        'Vendor: giving up on /calls after 3 attempts: a reply of the wrong shape from /calls: '
        'its "calls" list is null'
    )
    assert len(server.requests_to("/calls")) == 3
    assert client.retries == 2


def test_a_wrong_shape_that_heals_is_a_page_after_one_retry(server):
    server.script("GET", "/calls", Scripted(body=[1, 2]), Scripted(body={"calls": [{"id": 7}]}))
    client = client_for(server)
    assert client.get_page("/calls", {}, records_key="calls").records == [{"id": 7}]
    assert client.retries == 1


def test_a_401_renews_the_token_once_and_retries_at_once(server):
    server.script("GET", "/calls", Scripted(401), Scripted(body={"calls": []}))
    auth = CountingTokenAuth()
    auth.token()  # the token was in use before: a 401 means it went stale, not that it is wrong
    page = client_for(server, auth=auth).get_page("/calls", {}, records_key="calls")

    assert page.records == []
    assert [seen.headers["Authorization"] for seen in server.requests_to("/calls")] == [
        "Bearer token-1", "Bearer token-2"]


def test_a_fresh_token_refused_is_one_clear_error_naming_the_settings(server):
    server.script("GET", "/calls", Scripted(401))
    with pytest.raises(VendorAuthError,
                       match=r"Vendor rejected the credentials \(HTTP 401\); check vendor\.secret"):
        client_for(server, auth=CountingTokenAuth()).get_page("/calls", {}, records_key="calls")


def test_a_token_fetched_before_the_first_request_is_still_fresh_when_refused(server):
    """Asking whether the credentials are accepted (windows in flight start on it) fetches
    the token early; a 401 for its first use is still a good-looking token refused."""
    server.script("GET", "/calls", Scripted(401))
    auth = CountingTokenAuth()
    client = client_for(server, auth=auth)

    assert client.credentials_accepted()
    with pytest.raises(VendorAuthError, match=r"rejected the credentials"):
        client.get_page("/calls", {}, records_key="calls")
    assert [seen.headers["Authorization"] for seen in server.requests_to("/calls")] == ["Bearer token-1"]
    assert not client_for(server).credentials_accepted()  # a key sent as is: only a reply tells


def test_a_fatal_error_is_redacted_and_never_quotes_the_query_string(server):
    SECRETS.add("sk-live-abcdef123456")
    server.script("GET", "/calls", Scripted(400, {"message": "bad key sk-live-abcdef123456"}))
    with pytest.raises(VendorAPIError) as raised:
        client_for(server).get_page("/calls", {"key": "sk-live-abcdef123456"}, records_key="calls")

    message = str(raised.value)
    assert message.startswith("Vendor: HTTP 400 Bad Request from /calls: ")
    assert "sk-live-abcdef123456" not in message and "key=" not in message
    assert len(server.requests_to("/calls")) == 1


def test_the_vendor_dialects_read_errors_beyond_the_status(server):
    server.script("GET", "/v1/call/records",
                  Scripted(body={"success": False, "message": "Too many requests."}),
                  Scripted(body={"success": False, "message": "Invalid filter"}))
    server.script("GET", "/voice_calls", Scripted(400, {"code": 300, "message": "Invalid next_page_token"}))

    smartflo = client_for(server, dialect=SmartfloDialect())
    with pytest.raises(VendorAPIError, match=r"^Tata Smartflo: /v1/call/records answered: Invalid filter$"):
        smartflo.get_page("/v1/call/records", {}, records_key="results", count_key="count")
    assert smartflo.retries == 1
    zoom = client_for(server, dialect=ZoomDialect())
    with pytest.raises(PageTokenExpired):
        zoom.get_page("/voice_calls", {"next_page_token": "old"}, records_key="voice_calls")


def test_the_fetcher_hands_each_page_to_its_paginator_and_yields_windows_in_order(server):
    server.script("GET", "/calls",
                  Scripted(body={"calls": [{"id": 1}], "next_page_token": "t2"}),
                  Scripted(body={"calls": [{"id": 2}], "next_page_token": ""}),
                  Scripted(body={"calls": [{"id": 3}], "next_page_token": ""}))
    endpoint = PagedEndpoint(
        path="/calls", records_key="calls", paginator=NextPageTokenPaginator, key="id",
        params=lambda window, token: {"day": window.start.day, **({"token": token} if token else {})},
    )
    days = [datetime(2024, 7, day, tzinfo=timezone.utc) for day in (1, 2, 3)]
    windows = [Window(days[0], days[1]), Window(days[1], days[2])]
    fetcher = PagedFetcher(client_for(server), endpoint, name="calls")

    read = [(window, [record["id"] for record in records]) for window, records in fetcher.read(windows)]

    assert read == [(windows[0], [1, 2]), (windows[1], [3])]
    assert [seen.path for seen in server.requests_to("/calls")] == [
        "/calls?day=1", "/calls?day=1&token=t2", "/calls?day=2"]


# -- JSON replies, redirects, files, deletes --------------------------------------------------


def test_a_post_sends_its_json_and_hands_back_the_decoded_body(server):
    server.script("POST", "/jobs", Scripted(201, {"job": {"id": "j1"}}))
    reply = client_for(server).post_json("/jobs", {"from": "2024-07-01"})

    assert isinstance(reply, JSONReply) and reply.body == {"job": {"id": "j1"}}
    assert json.loads(server.requests_to("/jobs")[0].body) == {"from": "2024-07-01"}


def test_a_refusal_the_caller_named_comes_back_unretried(server):
    server.script("POST", "/jobs", Scripted(429, {"message": "quota"}, {"Retry-After": "7"}))
    reply = client_for(server).post_json("/jobs", {}, refusals=(429,))

    assert isinstance(reply, Refused)
    assert reply.response.headers["Retry-After"] == "7"
    assert len(server.requests_to("/jobs")) == 1


def test_a_redirect_is_an_answer_made_absolute_and_not_followed(server):
    server.script("GET", "/files/1", Scripted(303, headers={"Location": "/store/f1?X-Sig=s"}))
    server.script("GET", "/files/2", Scripted(body={"status": "processing"}))
    client = client_for(server)

    ready = client.get_json_or_redirect("/files/1", what="/files/<id>")
    waiting = client.get_json_or_redirect("/files/2", what="/files/<id>")

    assert isinstance(ready, Redirect) and ready.location == f"{server.url}/store/f1?X-Sig=s"
    assert isinstance(waiting, JSONReply) and waiting.body == {"status": "processing"}
    assert server.requests_to("/store/f1") == []


def test_a_file_streams_without_the_clients_credentials(server):
    rows = b"id,duration\n" + b"".join(b"%d,%d\n" % (n, n * 3) for n in range(5000))
    server.script("GET", "/store/f1", Scripted(body=rows, headers={"Content-Type": "text/csv"}))
    client = client_for(server, auth=CountingTokenAuth())

    file = client.stream_file(f"{server.url}/store/f1?X-Sig=s", what="the report file")

    assert isinstance(file, FileStream) and file.length_checked
    with file:
        assert b"".join(file.chunks(1024)) == rows
    assert "Authorization" not in server.requests_to("/store/f1")[0].headers


def test_an_expired_file_url_is_a_refusal_and_another_status_an_error_naming_no_url(server):
    server.script("GET", "/store/old", Scripted(403, b"<Error>Request has expired</Error>"))
    server.script("GET", "/store/moved", Scripted(307, headers={"Location": "/store/elsewhere"}))
    server.script("GET", "/store/loop", *[Scripted(302, headers={"Location": "/store/loop"})] * 6)
    client = client_for(server)

    assert isinstance(client.stream_file(f"{server.url}/store/old?X-Sig=s", what="the report file",
                                         refusals=(400, 403)), Refused)
    # A redirect is followed (issue 17); where it leads answers for the file.
    with pytest.raises(VendorAPIError, match=r"^Vendor: HTTP 404 Not Found from the report file"):
        client.stream_file(f"{server.url}/store/moved?X-Sig=s", what="the report file")
    with pytest.raises(VendorAPIError, match=r"^Vendor: the report file redirected more than 5 times"):
        client.stream_file(f"{server.url}/store/loop?X-Sig=s", what="the report file")


def test_a_delete_is_retried_and_a_named_refusal_is_no_error(server):
    server.script("DELETE", "/files/1", Scripted(503), Scripted(204))
    server.script("DELETE", "/files/2", Scripted(404))
    client = client_for(server)

    assert type(client.delete("/files/1", what="/files/<id>")) is Reply
    assert isinstance(client.delete("/files/2", what="/files/<id>", refusals=(404,)), Refused)
    assert len(server.requests_to("/files/1")) == 2


def test_a_delete_without_retries_makes_one_attempt(server):
    server.script("DELETE", "/jobs/1", Scripted(503))
    with pytest.raises(RetriableAPIError, match=r"HTTP 503 Service Unavailable from /jobs/<id>"):
        client_for(server).delete("/jobs/1", what="/jobs/<id>", retry=False)
    assert len(server.requests_to("/jobs/1")) == 1
