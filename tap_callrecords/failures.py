"""Every way a run can fail, turned into one line for the user, in one place.

The entry point sends every exception here. A failure the user can act on (a setting,
a file, a vendor's answer, a closed output) is one ``tap-callrecords: error:`` line and
a non-zero exit, never a traceback; only a bug in the tap prints one. A new kind of
user-facing failure is a new entry here, not a new ``except`` in the entry point.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from singer_sdk.exceptions import ConfigValidationError

from tap_callrecords.core.errors import OUTPUT_CLOSED, CallRecordsError

#: The command-line options naming a JSON file, and what the file holds.
INPUT_FILES = {"--config": "config", "--state": "state", "--catalog": "catalog"}


def input_files(argv: Sequence[str]) -> list[tuple[str, str]]:
    """``(option, path)`` for every input file named on the command line."""
    found = []
    for index, argument in enumerate(argv):
        option, _, inline = argument.partition("=")
        if option in INPUT_FILES:
            path = inline or (argv[index + 1] if index + 1 < len(argv) else "")
            if path and path != "ENV":
                found.append((option, path))
    return found


def input_file_problem(argv: Sequence[str]) -> str | None:
    """What is wrong with a config, state or catalog file, before the SDK reads it."""
    for option, path in input_files(argv):
        name = INPUT_FILES[option]
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return f"the {name} file {path} ({option}) does not exist."
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it is not UTF-8 text"
            return f"the {name} file {path} ({option}) cannot be read: {reason}."
        try:
            value = json.loads(text)
        except ValueError as exc:
            where = (f" (line {exc.lineno}, column {exc.colno})"
                     if isinstance(exc, json.JSONDecodeError) else "")
            return f"the {name} file {path} ({option}) is not JSON{where}."
        if not isinstance(value, dict):
            return f"the {name} file {path} ({option}) holds a JSON {type(value).__name__}, not an object."
    return None


def output_was_closed(stdout: TextIO) -> bool:
    """Whether a write to standard output failed because the reader went away, given
    ``stdout`` as it was before the command ran. Click catches that ``BrokenPipeError``
    itself, swaps ``sys.stdout`` for a wrapper that hides further errors and exits 1
    without a word; the swap is the one trace it leaves."""
    return sys.stdout is not stdout


def user_message(exc: BaseException) -> str | None:
    """The one line that explains ``exc`` to the user; ``None`` for a bug in the tap."""
    if isinstance(exc, CallRecordsError):
        return str(exc)
    if isinstance(exc, ConfigValidationError):
        return " ".join(exc.errors) or str(exc)
    if isinstance(exc, BrokenPipeError):
        return OUTPUT_CLOSED
    return None
