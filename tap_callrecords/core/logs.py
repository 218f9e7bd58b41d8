"""Log levels: a default output a person reads, everything else one switch away.

At the default level (INFO) a run prints the tap's own lines: per stream one line when
it starts, a progress line at most every ~15 s and a closing summary
(:mod:`~tap_callrecords.core.progress`), plus a line per retry and per problem. Left at
DEBUG:

- the SDK's METRIC lines (logger ``singer_sdk.metrics``). SDK 0.54 sets that logger to
  the plugin's log level and logs METRICs at INFO; the tap sets it to WARNING unless
  the run is at DEBUG or ``metrics_log_level`` says otherwise (the setting earlier SDKs
  read: ``INFO`` shows the METRIC lines, ``WARNING`` hides them);
- the SDK's per-stream chatter that the tap's start line already says (``Beginning
  sync of …``, ``Starting incremental sync of … with bookmark value …``, ``Skipping
  parse of env var settings…``): those lines are logged at DEBUG instead.

The level is, first found: ``--log-level`` on the command line, the ``log_level``
setting, the SDK's own sources (``TAP_CALLRECORDS_LOGLEVEL`` or ``LOGLEVEL``, then the
file named by ``SINGER_SDK_LOG_CONFIG``, which is how Meltano passes
``meltano --log-level=debug`` on), else INFO.
"""

from __future__ import annotations

import logging
import typing as t

import click
from singer_sdk import typing as th
from singer_sdk.metrics import METRICS_LOGGER_NAME

from tap_callrecords.core.bounds import describe_bounds

if t.TYPE_CHECKING:
    from collections.abc import Mapping

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

SETTINGS = describe_bounds(th.PropertiesList(
    th.Property("log_level", th.StringType, allowed_values=list(LEVELS),
                description="Log level of the tap: INFO (default) prints, per stream, a start line, "
                "progress at most every 15 s and a summary; DEBUG adds a line per window, per request "
                "and the SDK's METRIC lines. The --log-level option and the LOGLEVEL variables "
                "also set it. Under Meltano, `meltano --log-level=debug run` is the way to see DEBUG "
                "lines."),
    th.Property("metrics_log_level", th.StringType, allowed_values=list(LEVELS),
                description="Level of the SDK's METRIC lines' logger: INFO shows them at the default "
                "log level; WARNING hides them. Default: shown at DEBUG, hidden otherwise."),
))

#: SDK lines that say what the tap's own lines say; logged at DEBUG instead. The SDK's
#: ERROR line for any exception in a stream only announces the one line the entry point
#: prints for every failure (with a traceback for a bug).
SDK_CHATTER = (
    "Beginning sync of ",
    "Starting incremental sync of ",
    "Skipping parse of env var settings",
    "Parsing env var for settings config",
    "An unhandled error occurred while syncing",
)

_DEMOTABLE = (logging.INFO, logging.ERROR)
_cli_level: str | None = None


class DemoteToDebug(logging.Filter):
    """Log some INFO (or ERROR) messages at DEBUG: dropped unless their logger is at DEBUG."""

    def __init__(self, prefixes: tuple[str, ...] = SDK_CHATTER) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but the demoted ones, which only DEBUG keeps."""
        if record.levelno not in _DEMOTABLE or not str(record.msg).startswith(self.prefixes):
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


DEMOTE = DemoteToDebug()


def quiet(logger: logging.Logger) -> None:
    """Demote the SDK's chatter on ``logger`` (filters apply to the logger they are on only)."""
    if DEMOTE not in logger.filters:
        logger.addFilter(DEMOTE)


def level_option() -> click.Option:
    """``--log-level LEVEL``: overrides every other source of the log level."""

    def apply(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        global _cli_level
        if value:
            _cli_level = value.upper()
            logging.getLogger().setLevel(_cli_level)

    return click.Option(
        ["--log-level"],
        type=click.Choice(LEVELS, case_sensitive=False),
        help="Log level (default INFO; DEBUG adds per-window, per-request and METRIC lines).",
        is_eager=True,
        expose_value=False,
        callback=apply,
    )


def configure(config: Mapping[str, t.Any]) -> None:
    """Apply the ``log_level`` and ``metrics_log_level`` settings (once the config is read)."""
    root = logging.getLogger()
    level = _cli_level or config.get("log_level")
    if level:
        root.setLevel(str(level).upper())
    metrics_level = config.get("metrics_log_level")
    if not metrics_level:
        metrics_level = "DEBUG" if root.isEnabledFor(logging.DEBUG) else "WARNING"
    logging.getLogger(METRICS_LOGGER_NAME).setLevel(str(metrics_level).upper())
