"""Settings checks that turn user mistakes into clear messages, before any request.

Each message names the setting, says what was wrong and what is accepted. Types and
bounds come from the settings schema (:mod:`~tap_callrecords.core.bounds`); what a
schema cannot say is code here: the dates and their order, and the keys nobody
declared. A key the tap does not know is a warning naming the closest one it does
(``did you mean window_days?``), since it changes nothing but is surely a typo; an
unknown settings object is an error, since the vendor it means would silently not be
synced. The tap raises the errors together as one ``ConfigValidationError``, which the
CLI prints without a traceback, and logs the warnings.

The known keys are those of the tap's whole settings schema: its own and the settings
the SDK adds for the capabilities it advertises (``stream_maps``, ``flattening_enabled``,
``batch_config``, ...). Meltano passes exactly the settings that have a value, so a
Meltano run warns only about keys a user wrote.
"""

from __future__ import annotations

import difflib
import importlib
import typing as t
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tap_callrecords.core.bounds import check_settings
from tap_callrecords.core.convert import parse_iso_datetime

if t.TYPE_CHECKING:
    from tap_callrecords.core.vendor import Vendor

DATE_HINT = "an ISO 8601 date or date-time such as 2024-05-01 or 2024-05-01T08:30:00+05:30"


@dataclass
class SettingsReport:
    """What is wrong with a config: errors stop the run, warnings are logged."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _instant(value: t.Any) -> datetime | None:
    """A date setting's instant; ``None`` if it is unset or unreadable."""
    if value is None or value == "":
        return None
    try:
        return parse_iso_datetime(str(value))
    except ValueError:
        return None


def check_date(name: str, value: t.Any) -> str | None:
    """A message if the date setting ``name`` is set but unreadable."""
    if value is None or value == "" or _instant(value):
        return None
    return f"{name} is {value!r}, which is not {DATE_HINT} (no offset means UTC)."


def check_start_date(name: str, value: t.Any) -> str | None:
    """A message if ``start_date`` is missing or unreadable."""
    if value is None or value == "":
        return f"{name} is missing; it is required: {DATE_HINT}."
    return check_date(name, value)


#: The top-level settings checked by code rather than by their schema.
DATE_CHECKS = {"start_date": check_start_date, "end_date": check_date}


def closest(name: str, known: Sequence[str]) -> str | None:
    """The known name ``name`` is most likely a typo of, if any is close."""
    found = difflib.get_close_matches(name, known, n=1)
    return found[0] if found else None


def _suggestion(name: str, match: str | None) -> str:
    """The end of a message about the unknown key ``name``: what was probably meant."""
    if match is None:
        return "."
    if match == name:  # a vendor's setting written as one dotted top-level key
        vendor, _, setting = name.partition(".")
        return f"; write it as {setting} inside the {vendor} object."
    return f"; did you mean {match}?"


def _unknown_top_level(
    config: Mapping[str, t.Any], properties: Mapping[str, t.Any], vendors: Sequence[Vendor],
    report: SettingsReport,
) -> bool:
    """Report each top-level key the schema does not declare; whether one was taken for
    an unknown vendor.

    An object, or a name close to a vendor's, is an error: it is meant as a vendor to
    sync, or as settings that change what is synced. Any other key is a warning, with the
    closest top-level setting (or setting of a configured vendor, written
    ``voiso.window_days``) as the suggestion."""
    vendor_keys = [vendor.key for vendor in vendors]
    configured = [vendor for vendor in vendors if vendor.key in config] or list(vendors)
    known = [*properties, *(f"{vendor.key}.{name}" for vendor in configured
                            for name in vendor.settings.to_dict()["properties"])]
    unknown_vendor = False
    for key, value in config.items():
        if key in properties:
            continue
        match = closest(key, known)
        if match in vendor_keys or (isinstance(value, Mapping) and match is None):
            unknown_vendor = True
            meant = f"; did you mean {match}? The" if match else "; the"
            report.errors.append(f"{key} is not a vendor this tap reads{meant} vendors are "
                                 f"{', '.join(vendor_keys)}.")
        elif isinstance(value, Mapping):
            report.errors.append(f"{key} is not a setting of this tap{_suggestion(key, match)} "
                                 "A settings object it does not know is refused, not ignored.")
        else:
            report.warnings.append(f"{key} is not a setting of this tap and is ignored"
                                   f"{_suggestion(key, match)}")
    return unknown_vendor


#: BATCH file formats and the extra each needs beyond the tap's own dependencies.
BATCH_FORMAT_EXTRAS = {"jsonl": None, "parquet": ("pyarrow", "parquet")}


def check_batch_encoding(batch_config: t.Any) -> str | None:
    """A message if ``batch_config`` asks for a file format this installation cannot
    write (parquet needs pyarrow, from the ``parquet`` extra), before any request."""
    encoding = batch_config.get("encoding") if isinstance(batch_config, Mapping) else None
    file_format = encoding.get("format") if isinstance(encoding, Mapping) else None
    if file_format not in BATCH_FORMAT_EXTRAS:
        return None
    needs = BATCH_FORMAT_EXTRAS[file_format]
    if needs is None:
        return None
    module, extra = needs
    try:
        importlib.import_module(module)
    except ImportError:
        return (f"batch_config.encoding.format is {file_format}, which needs {module}: install "
                f"tap-callrecords[{extra}] (with Meltano: pip_url: tap-callrecords[{extra}]).")
    return None


def validate_settings(
    config: Mapping[str, t.Any], schema: Mapping[str, t.Any], vendors: Sequence[Vendor]
) -> SettingsReport:
    """All problems with ``config`` against the tap's whole settings ``schema`` (the SDK's
    built-in settings included) and its ``vendors``; no errors when it is usable."""
    report = SettingsReport()
    properties = schema["properties"]
    by_key = {vendor.key: vendor for vendor in vendors}
    common = {key: prop for key, prop in properties.items() if key not in by_key}
    report.errors.extend(check_settings(config, common, required=schema.get("required", ()),
                                        owner="the tap", checks=DATE_CHECKS))
    start, end = _instant(config.get("start_date")), _instant(config.get("end_date"))
    if start and end and end <= start:
        report.errors.append(
            f"end_date ({config['end_date']}) is not after start_date ({config['start_date']}); "
            "it must be later, or left out to sync up to now."
        )

    batch_problem = check_batch_encoding(config.get("batch_config"))
    if batch_problem:
        report.errors.append(batch_problem)

    unknown_vendor = _unknown_top_level(config, properties, vendors, report)
    configured = [vendor for vendor in vendors if vendor.key in config]
    if not configured and not unknown_vendor:
        names = ", ".join(by_key)
        report.errors.append(f"No vendor is configured: add at least one settings object of {names}.")
    for vendor in configured:
        vendor_config = config[vendor.key]
        if not isinstance(vendor_config, Mapping):
            report.errors.append(f"{vendor.key} must be an object of {vendor.label} settings.")
            continue
        declared = list(vendor.settings.to_dict()["properties"])
        report.warnings.extend(
            f"{vendor.key}.{key} is not a {vendor.label} setting and is ignored"
            f"{_suggestion(key, closest(key, declared))}"
            for key in vendor_config if key not in declared
        )
        report.errors.extend(vendor.validate(vendor_config))
    return report
