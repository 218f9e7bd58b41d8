"""Errors a user can act on.

The CLI prints these as one line and exits non-zero, with no traceback: they describe
a setting to fix or a vendor condition to wait out, not a bug in the tap.
"""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError


class CallRecordsError(Exception):
    """Base class for failures reported to the user as one clear line."""


class VendorAPIError(CallRecordsError, FatalAPIError):
    """The vendor answered in a way the tap cannot recover from (after any retries)."""


class VendorAuthError(VendorAPIError):
    """The vendor rejected the configured credentials."""


class RateLimitExhausted(VendorAPIError):
    """The vendor asked us to wait longer than the configured retry budget allows."""


class TokenRejected(RetriableAPIError):
    """A 401 for a token that was renewed since: retried at once, with the new token."""


class InvalidRecord(VendorAPIError):
    """A vendor record without a readable primary key or replication key."""


class InvalidState(CallRecordsError):
    """The state file holds a bookmark the tap cannot use."""


OUTPUT_CLOSED = "the output was closed (the target stopped reading); the run stopped."


class OutputClosed(CallRecordsError):
    """Standard output was closed: the target died or stopped reading."""


class CreationUnconfirmed(VendorAPIError):
    """A request that creates something (a report job) got no readable answer after it may
    have been carried out: sending it again could create a second one."""
