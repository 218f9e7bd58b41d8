"""The tap: settings, the streams of each configured vendor, and the command line."""

from __future__ import annotations

import gc
import sys
import traceback
import typing as t

import click
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError

from tap_callrecords.about import format_about
from tap_callrecords.core import logs
from tap_callrecords.core.client import RequestSettings
from tap_callrecords.core.errors import CallRecordsError
from tap_callrecords.core.progress import report_unfinished
from tap_callrecords.core.redact import SECRETS, install_stderr_redaction, redact
from tap_callrecords.core.stream import WindowedStream
from tap_callrecords.settings import DATE_HINT, validate_settings
from tap_callrecords.vendors import VENDORS

if t.TYPE_CHECKING:
    from types import FrameType

COMMON_SETTINGS = th.PropertiesList(
    th.Property("start_date", th.StringType, required=True,
                description=f"Earliest call to sync: {DATE_HINT}. No offset means UTC."),
    th.Property("end_date", th.StringType,
                description="Sync calls before this instant (exclusive). Default: now minus the "
                "vendor's data latency."),
    th.Property("lookback_minutes", th.IntegerType, default=180,
                description="How far before its bookmark an incremental run re-reads, to catch "
                "calls that finish or change late. Re-read calls are re-emitted; targets "
                "dedupe them by primary key."),
    th.Property("request_timeout_seconds", th.NumberType, default=60,
                description="Seconds to wait for a vendor response before retrying."),
    th.Property("max_retries", th.IntegerType, default=8,
                description="Attempts per request on 429, 5xx, timeouts and dropped "
                "connections before the run stops with an error."),
    th.Property("retry_initial_wait_seconds", th.NumberType, default=1.0,
                description="First backoff wait; doubles per attempt (with jitter), "
                "capped at 60 s. A vendor's Retry-After takes precedence."),
    th.Property("max_retry_after_seconds", th.NumberType, default=900,
                description="Longest Retry-After the tap waits out; a longer one (a daily "
                "quota) ends the run cleanly with its resume time."),
)


class TapCallRecords(Tap):
    """Call detail records from Voiso, Tata Smartflo, Zoom Contact Center and Talkdesk."""

    name = "tap-callrecords"
    message_writer_class = MsgSpecWriter
    config_jsonschema = th.PropertiesList(
        *COMMON_SETTINGS.wrapped.values(),
        *logs.SETTINGS.wrapped.values(),
        *(
            # An ObjectType, not the PropertiesList itself: that one's dict carries its own
            # "$schema", and jsonschema then validates it without the SDK's default filling.
            th.Property(vendor.key, th.ObjectType(*vendor.settings.wrapped.values()),
                        description=f"{vendor.label} settings; its streams are synced when set.")
            for vendor in VENDORS
        ),
    ).to_dict()

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        logs.configure(self.config)

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, with ``--log-level``; the SDK's chatter demoted to DEBUG."""
        command = super().get_singer_command()
        command.params.append(logs.level_option())
        logs.quiet(cls.logger)
        return command

    @classmethod
    def print_about(cls, output_format: str | None = None) -> None:
        """The SDK's about information, with every stream's vendor, keys and replication key."""
        print(format_about(cls._get_about_info(), output_format))

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Our clear messages first; the JSON schema check only when they pass."""
        self._register_secrets()
        errors = validate_settings(self._config, VENDORS)
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors)
        return errors or super()._validate_config(raise_errors=raise_errors)

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: the SDK's final STATE, then a non-zero exit (the SDK exits 0,
        which an orchestrator records as success). The exit unwinds the running sync, so
        report jobs still in flight are cancelled on the way out."""
        report_unfinished("stopped by signal " + str(signum))
        try:
            super()._handle_termination(signum, frame)
        except SystemExit:
            raise SystemExit(128 + signum) from None

    def _register_secrets(self) -> None:
        for vendor in VENDORS:
            vendor_config = self._config.get(vendor.key)
            if isinstance(vendor_config, dict):
                for name in vendor.secret_settings:
                    SECRETS.add(vendor_config.get(name))

    def discover_streams(self) -> list[WindowedStream]:
        """The streams of every configured vendor, each vendor read through one client.

        One client per vendor configuration: its authenticator, rate cap and retry
        budget are shared by that vendor's streams and by no other vendor.
        """
        request = RequestSettings.from_config(self.config)
        streams: list[WindowedStream] = []
        for vendor in VENDORS:
            settings = self.config.get(vendor.key)
            if settings is None:
                continue
            client = vendor.client(settings, request, self.logger)
            streams.extend(stream(self, client=client, settings=settings) for stream in vendor.streams)
        for stream in streams:
            logs.quiet(stream.logger)
        return streams


def main() -> None:
    """Console entry point: a user-facing failure is one clear line and a non-zero exit."""
    install_stderr_redaction()
    # Records are acyclic and short-lived; sparing the cyclic GC from rescanning what was
    # allocated at start-up saved 8 % of the CPU of a million-record sync.
    gc.freeze()
    # The page prefetcher's thread needs the GIL back after every socket read; at the
    # default 5 ms switch interval it waits behind record conversion (measured: 31 s
    # instead of 21 s for a million Voiso records).
    sys.setswitchinterval(0.001)
    try:
        TapCallRecords.cli()
    except CallRecordsError as exc:
        sys.stdout.flush()
        report_unfinished("stopped by an error")
        print(f"tap-callrecords: error: {redact(exc)}", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:
        sys.stdout.flush()
        report_unfinished("stopped by an error")
        traceback.print_exc(file=sys.stderr)
        print(f"tap-callrecords: unexpected error: {redact(exc)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
