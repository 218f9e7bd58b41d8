"""``--about`` with the tap's streams: each stream's vendor, settings object, keys and
replication key, in every format (text, JSON, markdown).

The SDK's about information has no place for streams, so the formatted text is extended
here; the README's stream and settings tables are generated from the markdown form
(``scripts/generate.py``).
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import asdict, dataclass

from singer_sdk import about

from tap_callrecords.call_records.stream import CallRecordsStream
from tap_callrecords.core.catalog import stream_schema
from tap_callrecords.vendors import VENDORS

if t.TYPE_CHECKING:
    from singer_sdk import Stream


@dataclass(frozen=True)
class StreamInfo:
    """What ``--about`` says of one stream."""

    stream: str
    #: The stream's description: its schema's top-level ``description``.
    description: str
    vendor: str
    settings: str
    primary_keys: list[str]
    replication_key: str
    #: The replication key's description in the stream's schema.
    replication_key_description: str


def streams() -> list[StreamInfo]:
    """Every stream of every vendor, in the vendors' order, then ``call_records``."""
    found = [
        stream_info(stream, vendor.label, vendor.key) for vendor in VENDORS for stream in vendor.every_stream
    ]
    found.append(stream_info(CallRecordsStream, "every configured vendor", "any"))
    return found


def stream_info(stream: type[Stream], vendor: str, settings: str) -> StreamInfo:
    """What ``--about`` says of a stream class (names and keys are class attributes)."""
    declared: t.Any = stream
    key = str(declared.replication_key)
    schema = stream_schema(stream)
    return StreamInfo(
        stream=declared.name,
        description=schema["description"],
        vendor=vendor,
        settings=settings,
        primary_keys=list(declared.primary_keys or ()),
        replication_key=key,
        replication_key_description=schema["properties"][key].get("description", ""),
    )


def markdown_streams() -> str:
    """The ``## Streams`` section of ``--about --format=markdown``."""
    rows = [
        f"| {s.stream} | {s.vendor} | {s.settings} | {', '.join(s.primary_keys)} | {s.replication_key} "
        f"| {s.replication_key_description} | {s.description} |"
        for s in streams()
    ]
    return (
        "## Streams\n\n"
        "| Stream | Vendor | Settings object | Primary key | Replication key | Replication key holds "
        "| What it holds |\n"
        "|:-------|:-------|:----------------|:------------|:----------------|:----------------------"
        "|:--------------|\n"
        + "\n".join(rows)
        + "\n\n"
    )


def format_about(info: about.AboutInfo, output_format: str | None) -> str:
    """The SDK's about text for ``output_format``, with the streams added."""
    text = about.AboutFormatter.get_formatter(output_format or "text").format_about(info)
    if output_format == "json":
        data = json.loads(text)
        data["streams"] = [asdict(s) for s in streams()]
        return json.dumps(data, indent=2, default=str)
    if output_format == "markdown":
        head, settings, tail = text.partition("## Settings\n")
        return head + markdown_streams() + settings + tail if settings else text + "\n" + markdown_streams()
    lines = ["Streams:"]
    for s in streams():
        lines.append(f"  - {s.stream} ({s.vendor}, settings object {s.settings}): "
                     f"primary key {', '.join(s.primary_keys)}, replication key {s.replication_key}")
    return text.rstrip("\n") + "\n" + "\n".join(lines)
