"""The masker, in-process: a secret of any length is masked wherever it travels as a value
(a query string, a JSON body, an Authorization header, a URL inside a URL, JSON escapes),
and never inside another word, so the tap's own messages stay readable."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from tap_callrecords.core.redact import MASK, SecretRegistry

SHORT_SECRETS = ["k", "Zq", "abc", "ab/c", "p4ss", "Sm4r7", "x+y=z!", "Pa55w0r"]


def registry(*secrets: str) -> SecretRegistry:
    found = SecretRegistry()
    for secret in secrets:
        found.add(secret)
    return found


#: Where a secret travels: ``§`` stands for it, in the form it takes there.
CARRIERS = {
    "query": ("GET /api/v2/cdr?key=§&page=2", lambda secret: quote(secret, safe="")),
    "query-plus": ("GET /api/v2/cdr?page=2&key=§", quote_plus),
    "json-body": ('{"password": "§", "email": "ops@example.com"}', lambda secret: json.dumps(secret)[1:-1]),
    "vendor-echo": ('{"echo": "api_key=§ §"}', lambda secret: secret),
    "bearer": ("Authorization: Bearer §", lambda secret: secret),
    "basic": ("{'Authorization': 'Basic §'}",
              lambda secret: base64.b64encode(f"client-id:{secret}".encode()).decode()),
    "url-in-url": ("next=https%3A%2F%2Fh%2Fcdr%3Fkey%3D§%26page%3D2", lambda secret: quote(secret, safe="")),
    "form-body": ("password=§&grant_type=password", quote_plus),
    "repr-escape": ("'line one\\n§'", lambda secret: secret),
    "alone": ("§", lambda secret: secret),
}


@pytest.mark.parametrize("secret", SHORT_SECRETS)
@pytest.mark.parametrize(("carrier", "form"), CARRIERS.values(), ids=CARRIERS)
def test_a_short_secret_is_masked_wherever_it_is_a_value(secret, carrier, form):
    masker = registry(secret)

    assert masker.redact(carrier.replace("§", form(secret))) == carrier.replace("§", MASK)


@pytest.mark.parametrize("secret", [secret for secret in SHORT_SECRETS if secret[-1].isalnum()])
def test_a_short_secret_inside_a_word_is_left_alone(secret):
    masker = registry(secret)

    for text in (f"x{secret}x", f"x{secret}", f"{secret}_id", f"{secret}2024", f"pre_{secret}"):
        assert masker.redact(text) == text


def test_the_tap_s_own_messages_are_not_garbled_by_one_letter_secrets():
    masker = registry("k", "e", "oi", "api")
    messages = [
        "voiso.api_key is only 1 characters; a secret must have at least 8 to be masked",
        "voiso.api_key is missing; Voiso needs it.",
        "voiso_cdr: done: 1,000 records, 1 window; 0 retries, 0 skipped; 2.1 s",
        "Voiso rejected the credentials (HTTP 401); check voiso.api_key.",
        "talkdesk.max_concurrent_jobs is 16; it must be a whole number from 1 to 15.",
    ]

    for message in messages:
        assert masker.redact(message) == message


def test_the_longest_registered_secret_is_masked_whole():
    masker = registry("abc", "abc-def")

    assert masker.redact("token=abc-def, key=abc") == f"token={MASK}, key={MASK}"
