"""Keep secrets out of everything the tap prints.

Secrets are registered once, when the configuration is read (and tokens when a vendor
issues them). Everything written to stderr (log lines, backoff messages, tracebacks from
any library) passes through :class:`RedactingStream`, and error messages built by the
tap go through :func:`redact` before they are raised. Patterns also catch credentials
the tap never saw in its config, such as a token a vendor returned.

A secret is masked as a whole value, never inside a word: where it is not part of a
longer run of letters, digits and underscores. That is how a secret is written wherever
it travels (``?key=k&page=2``, ``"password": "k"``, ``Bearer k``, ``api_key=k`` in a
vendor's echo), also URL-encoded and JSON-escaped; so a secret of any length can be
masked without touching ordinary text (``k`` leaves ``api_key`` and ``masked``
alone). An HTTP Basic credential (the base64 of ``id:secret``) holds no secret in
readable form; the ``Authorization`` pattern masks the whole header value.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from typing import TextIO
from urllib.parse import quote, quote_plus

MASK = "***"

# Query parameters, JSON fields and headers that carry credentials in the vendor APIs.
_CREDENTIAL_PATTERNS = (
    re.compile(
        r"(?i)([?&](?:key|api_key|apikey|access_token|token|password|client_secret)=)[^&\s'\"]+"
    ),
    re.compile(
        r"(?i)(\"(?:access_token|password|client_secret|api_key|api_token|token|key)\"\s*:\s*\")[^\"]*"
    ),
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer\s+|basic\s+)?)[^\s'\",}]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
)


#: Where a whole value may start though a word character comes before it: after no word
#: character, or after an escape ending in one (``%3D`` in a URL-encoded URL, ``\n`` or
#: ``\u0022`` in JSON or a repr).
_VALUE_START = r"(?:(?<!\w)|(?<=%[0-9A-Fa-f]{2})|(?<=\\[nrt])|(?<=\\u[0-9A-Fa-f]{4}))"


def whole_value(secret: str) -> str:
    """A pattern matching ``secret`` only as a whole value: an edge of the secret that is
    a word character must not touch another word character (but for an escape before it)."""
    start = _VALUE_START if re.match(r"\w", secret) else ""
    end = r"(?!\w)" if re.search(r"\w\Z", secret) else ""
    return start + re.escape(secret) + end


class SecretRegistry:
    """The secret values known to this process."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, value: object) -> None:
        """Register a secret, also in the forms it takes in a URL and inside JSON text."""
        if isinstance(value, str) and value:
            forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
            with self._lock:
                if not forms <= self._secrets:
                    self._secrets.update(forms)
                    # Longest first, so a secret containing another is masked whole.
                    ordered = sorted(self._secrets, key=len, reverse=True)
                    self._pattern = re.compile("|".join(whole_value(secret) for secret in ordered))

    def redact(self, text: str) -> str:
        """Mask every registered secret and every credential-shaped substring."""
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        for credential in _CREDENTIAL_PATTERNS:
            text = credential.sub(lambda match: match.group(1) + MASK, text)
        return text


SECRETS = SecretRegistry()


def redact(text: object) -> str:
    """Redact a message with the process-wide registry."""
    return SECRETS.redact(str(text))


class RedactingStream:
    """A text stream wrapper that redacts each complete line before writing it."""

    def __init__(self, wrapped: TextIO) -> None:
        self._wrapped = wrapped
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        """Buffer up to a newline so a secret split across writes is still caught."""
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                complete, _, self._pending = self._pending.rpartition("\n")
                self._wrapped.write(redact(complete + "\n"))
        return len(text)

    def flush(self) -> None:
        """Write any partial line and flush the wrapped stream."""
        with self._lock:
            if self._pending:
                self._wrapped.write(redact(self._pending))
                self._pending = ""
            self._wrapped.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self._wrapped, name)


def install_stderr_redaction() -> None:
    """Route ``sys.stderr`` through redaction; call before logging is configured."""
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)
