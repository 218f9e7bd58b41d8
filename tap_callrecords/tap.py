"""The tap: settings, the streams of each configured vendor, and the command line."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import traceback
import typing as t
from pathlib import PurePath

import click
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import TapCapabilities
from typing_extensions import override

from tap_callrecords.about import format_about
from tap_callrecords.call_records.stream import CallRecordsStream, VendorCalls
from tap_callrecords.core import logs
from tap_callrecords.core import windows as clock
from tap_callrecords.core.bounds import describe_bounds
from tap_callrecords.core.catalog import ListedStream
from tap_callrecords.core.client import RequestSettings
from tap_callrecords.core.output import RecordLoopStream
from tap_callrecords.core.progress import report_unfinished
from tap_callrecords.core.reader import Halt, check_bookmark
from tap_callrecords.core.redact import SECRETS, install_stderr_redaction, redact
from tap_callrecords.core.state import peek_state
from tap_callrecords.core.stream import WindowedStream
from tap_callrecords.failures import input_file_problem, input_files, output_was_closed, user_message
from tap_callrecords.settings import DATE_HINT, validate_settings
from tap_callrecords.vendors import VENDORS

if t.TYPE_CHECKING:
    from types import FrameType

    from singer_sdk import Stream
    from singer_sdk.helpers.capabilities import CapabilitiesEnum

COMMON_SETTINGS = describe_bounds(th.PropertiesList(
    th.Property("start_date", th.StringType, required=True,
                description=f"Earliest call to sync: {DATE_HINT}. No offset means UTC."),
    th.Property("end_date", th.StringType,
                description="Sync calls before this instant (exclusive). Default: now minus the "
                "vendor's data latency."),
    th.Property("lookback_minutes", th.IntegerType(minimum=0), default=540,
                description="How far before its bookmark an incremental run re-reads, to catch "
                "calls that finish or change late. A vendor may list a call only once it has "
                "ended, or select calls by their end: every call that lasts up to the lookback "
                "is emitted, however often the tap runs. Nine hours by default, for calls of up "
                "to eight hours with room to spare. Re-read calls are re-emitted; targets "
                "dedupe them by primary key."),
    th.Property("request_timeout_seconds", th.NumberType(exclusive_minimum=0), default=60,
                description="Seconds a vendor has for a whole reply (connecting, the headers and "
                "every byte of the body) before the request is retried."),
    th.Property("max_retries", th.IntegerType(minimum=1, maximum=100), default=8,
                description="Attempts per request on 429, 5xx, timeouts and dropped "
                "connections before the run stops with an error."),
    th.Property("retry_initial_wait_seconds", th.NumberType(exclusive_minimum=0), default=1.0,
                description="First backoff wait; doubles per attempt (with jitter), "
                "capped at 60 s. A vendor's Retry-After takes precedence."),
    th.Property("skip_invalid_records", th.BooleanType, default=False,
                description="A vendor record without a readable primary key or replication key "
                "stops the run with one clear error (default). Set true to skip such records "
                "instead: each is logged by its key and counted."),
    th.Property("max_retry_after_seconds", th.NumberType(exclusive_minimum=0), default=900,
                description="Longest Retry-After the tap waits out; a longer one (a daily "
                "quota) ends the run cleanly with its resume time."),
))


class TapCallRecords(Tap):
    """Call detail records from Voiso, Tata Smartflo, Zoom Contact Center and Talkdesk."""

    name = "tap-callrecords"
    message_writer_class = MsgSpecWriter
    #: The SDK's, and ``test``: ``--test`` reads each configured stream's first page.
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [*Tap.capabilities, TapCapabilities.TEST]
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

    #: Discovery: every stream is listed from its class (:meth:`run_discovery`).
    _listing = False

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
        """Our clear messages first; the JSON schema check only when they pass. Keys the
        tap does not know are logged here as warnings, once per run; the known ones are
        the whole schema's, the SDK's settings for the tap's capabilities included."""
        self._register_secrets()
        schema = self.config_jsonschema
        self.append_builtin_config(schema)
        report = validate_settings(self._config, schema, VENDORS)
        for warning in report.warnings:
            self.logger.warning(warning)
        if report.errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=report.errors)
        return report.errors or super()._validate_config(raise_errors=raise_errors)

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: the SDK's final STATE, then a non-zero exit (the SDK exits 0,
        which an orchestrator records as success). The exit unwinds the running sync, so
        report jobs still in flight are cancelled on the way out."""
        report_unfinished("stopped by signal " + str(signum))
        try:
            super()._handle_termination(signum, frame)
        except SystemExit:
            raise SystemExit(128 + signum) from None

    def check_connections(self) -> None:
        """``--test``: each configured stream reads its vendor's first page (or report) of
        the last hour. One line per stream when it works; the first failure ends the run
        through the usual one-line error and a non-zero exit. (The SDK's own test syncs
        one record of every stream, logs an ERROR for each, and exits 0 whatever happened.)"""
        for stream in self.streams.values():
            if isinstance(stream, WindowedStream):
                print(f"tap-callrecords: {stream.name}: {stream.check_connection()}", file=sys.stderr)

    def _register_secrets(self) -> None:
        for vendor in VENDORS:
            vendor_config = self._config.get(vendor.key)
            if isinstance(vendor_config, dict):
                for name in vendor.secret_settings:
                    SECRETS.add(vendor_config.get(name))

    def run_discovery(self) -> str:
        """``--discover`` lists every stream of every vendor, configured or not: a user
        selects streams before configuring them (``meltano select --list`` on a fresh
        plugin), and Meltano's catalog then names them all. Listing reads no setting, so
        it works whatever the config holds. A sync builds the configured vendors' streams
        only (:meth:`discover_streams`); the SDK skips catalog entries it has no stream for."""
        self._listing = True
        self._streams = None  # built for a sync if this tap was set up for one
        return super().run_discovery()

    def discover_streams(self) -> t.Sequence[Stream]:
        """The streams of every configured vendor, each vendor read through one client,
        and ``call_records`` over them all (one more output of each vendor stream's read);
        every stream as listed when discovering.

        One client per vendor configuration: its authenticator, rate cap and retry
        budget are shared by that vendor's streams and by no other vendor.
        """
        if self._listing:
            classes: list[type[Stream]] = [stream for vendor in VENDORS for stream in vendor.every_stream]
            classes.append(CallRecordsStream)
            return [ListedStream(self, stream_class) for stream_class in classes]
        request = RequestSettings.from_config(self.config)
        streams: list[RecordLoopStream] = []
        calls: dict[str, VendorCalls] = {}
        halt = Halt()
        for vendor in VENDORS:
            settings = self.config.get(vendor.key)
            if settings is None:
                continue
            client = vendor.client(settings, request, self.logger)
            for stream_class in vendor.configured_streams(settings):
                source = stream_class(self, client=client, settings=settings, halt=halt)
                streams.append(source)
                streams.extend(derived(self, source=source) for derived in source.derived)  # type: ignore[call-arg]
                if source.to_call is not None:
                    calls[vendor.key] = VendorCalls(source.read, source.to_call,
                                                    settings.get("default_phone_region"))
        if calls:
            streams.append(CallRecordsStream(self, vendors=calls))
        for stream in streams:
            logs.quiet(stream.logger)
        return streams

    @override
    def load_state(self, state: dict[str, t.Any]) -> None:
        """The SDK's state, then every selected stream's bookmarks checked before any
        request: one that is not a date-time, or lies in the future, is one clear line
        (the SDK would stop on it with a traceback, or sync nothing for ever)."""
        super().load_state(state)
        if not state.get("bookmarks"):
            return
        now = clock.utc_now()
        for stream in self.streams.values():
            if not stream.selected or not stream.replication_key:
                continue
            contexts = [None, *(stream.partitions or [])]
            for context in contexts:
                check_bookmark(stream.name, stream.replication_key,
                               peek_state(self.state, stream.name, context), now)


def main() -> None:
    """Console entry point: a user-facing failure is one clear line and a non-zero exit."""
    install_stderr_redaction()
    # Records are acyclic and short-lived; sparing the cyclic GC from rescanning what was
    # allocated at start-up saves CPU on every long sync.
    gc.freeze()
    # The page prefetcher's thread needs the GIL back after every socket read; at the
    # default 5 ms switch interval it waits behind record conversion, and a paged sync
    # slows down markedly.
    sys.setswitchinterval(0.001)
    code = run(sys.argv[1:])
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    logging.shutdown()
    # Not ``sys.exit``: a prefetch thread still waiting on a vendor (after SIGTERM or an
    # error) must not hold the process open until its request times out.
    os._exit(code)


def run(argv: list[str]) -> int:
    """Run the CLI; the exit code. Every failure goes through :func:`user_message`."""
    problem = input_file_problem(argv)
    if problem:
        print(f"tap-callrecords: error: {redact(problem)}", file=sys.stderr)
        return 2
    stdout = sys.stdout
    try:
        if "--test" in argv or "--test=all" in argv:
            configs: list[PurePath | str] = [
                path for option, path in input_files(argv) if option == "--config"
            ]
            TapCallRecords(config=configs or None, parse_env_config="ENV" in argv).check_connections()
        else:
            TapCallRecords.cli()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not code or not output_was_closed(stdout):
            return code
        failure: BaseException = BrokenPipeError()  # what click hid behind its exit 1
    except BaseException as exc:
        failure = exc
    else:
        return 0
    message = user_message(failure)
    with contextlib.suppress(BrokenPipeError, ValueError):
        sys.stdout.flush()
    report_unfinished("stopped by an error")
    if message is None:
        traceback.print_exception(failure, file=sys.stderr)
        message = f"unexpected error: {failure}"
    print(f"tap-callrecords: error: {redact(message)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    main()
