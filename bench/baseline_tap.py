"""The same tap run through the SDK's default pipeline, for the benchmark's comparison.

Default writer (``SimpleSingerWriter``) and recursive type conformance on every record:
what a stream gets when it leaves the SDK's defaults alone.
"""

from __future__ import annotations

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.io_base import SingerWriter

from tap_callrecords.tap import TapCallRecords, main
from tap_callrecords.vendors import VENDORS


class BaselineTap(TapCallRecords):
    """TapCallRecords with the SDK's default writer and type conformance."""

    message_writer_class = SingerWriter


for vendor in VENDORS:
    for stream_class in vendor.streams:
        stream_class.TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.RECURSIVE


if __name__ == "__main__":
    import tap_callrecords.tap as tap_module

    tap_module.TapCallRecords = BaselineTap
    main()
