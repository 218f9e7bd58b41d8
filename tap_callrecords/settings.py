"""Settings checks that turn user mistakes into clear messages, before any request.

Each message names the setting, says what was wrong and what is accepted. The tap
raises them together as one ``ConfigValidationError``, which the CLI prints without a
traceback.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from tap_callrecords.core.convert import parse_iso_datetime
from tap_callrecords.core.redact import MIN_SECRET_LENGTH

if t.TYPE_CHECKING:
    from tap_callrecords.core.vendor import Vendor

DATE_HINT = "an ISO 8601 date or date-time such as 2024-05-01 or 2024-05-01T08:30:00+05:30"


def check_int_range(name: str, value: t.Any, lowest: int, highest: int | None) -> str | None:
    """A message if ``value`` is set but is not an integer in ``[lowest, highest]``."""
    if value is None:
        return None
    accepted = f"from {lowest} to {highest}" if highest is not None else f"of at least {lowest}"
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest or (
        highest is not None and value > highest
    ):
        return f"{name} is {value!r}; it must be a whole number {accepted}."
    return None


def check_number_range(name: str, value: t.Any, lowest: float) -> str | None:
    """A message if ``value`` is set but is not a number above ``lowest``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or value <= lowest:
        return f"{name} is {value!r}; it must be a number greater than {lowest:g}."
    return None


def parse_date_setting(name: str, value: t.Any, errors: list[str]) -> datetime | None:
    """Parse a date setting, appending a message to ``errors`` if it is unreadable."""
    if value is None or value == "":
        return None
    try:
        return parse_iso_datetime(str(value))
    except ValueError:
        errors.append(f"{name} is {value!r}, which is not {DATE_HINT} (no offset means UTC).")
        return None


def validate_settings(config: Mapping[str, t.Any], vendors: Sequence[Vendor]) -> list[str]:
    """All problems with ``config``, as messages for the user; empty when it is usable."""
    errors: list[str] = []
    if not config.get("start_date"):
        errors.append(f"start_date is missing; it is required: {DATE_HINT}.")
    start = parse_date_setting("start_date", config.get("start_date"), errors)
    end = parse_date_setting("end_date", config.get("end_date"), errors)
    if start and end and end <= start:
        errors.append(
            f"end_date ({config['end_date']}) is not after start_date ({config['start_date']}); "
            "it must be later, or left out to sync up to now."
        )
    for message in (
        check_int_range("lookback_minutes", config.get("lookback_minutes"), 0, None),
        check_int_range("max_retries", config.get("max_retries"), 1, 100),
        check_number_range("request_timeout_seconds", config.get("request_timeout_seconds"), 0),
        check_number_range("retry_initial_wait_seconds", config.get("retry_initial_wait_seconds"), 0),
        check_number_range("max_retry_after_seconds", config.get("max_retry_after_seconds"), 0),
    ):
        if message:
            errors.append(message)

    configured = [vendor for vendor in vendors if vendor.key in config]
    if not configured:
        names = ", ".join(vendor.key for vendor in vendors)
        errors.append(f"No vendor is configured: add at least one settings object of {names}.")
    for vendor in configured:
        vendor_config = config[vendor.key]
        if not isinstance(vendor_config, Mapping):
            errors.append(f"{vendor.key} must be an object of {vendor.label} settings.")
            continue
        for name in vendor.settings.to_dict().get("required", []):
            if not vendor_config.get(name):
                errors.append(f"{vendor.key}.{name} is missing; {vendor.label} needs it.")
        for name in vendor.secret_settings:
            secret = vendor_config.get(name)
            if isinstance(secret, str) and 0 < len(secret.strip()) < MIN_SECRET_LENGTH:
                errors.append(
                    f"{vendor.key}.{name} is only {len(secret.strip())} characters; a secret must have at "
                    f"least {MIN_SECRET_LENGTH} to be masked in logs safely (a real one is longer)."
                )
        errors.extend(vendor.validate(vendor_config))
    return errors
