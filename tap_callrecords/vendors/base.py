"""What a vendor package declares to the tap."""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from singer_sdk import typing as th

if t.TYPE_CHECKING:
    from tap_callrecords.core.rest import CallRecordsStream


@dataclass(frozen=True)
class Vendor:
    """A vendor: its settings object and the streams discovered when it is configured."""

    key: str
    label: str
    settings: th.PropertiesList
    streams: tuple[type[CallRecordsStream], ...]
    #: Setting names inside the vendor object whose values are secret.
    secret_settings: tuple[str, ...] = ()
    #: Checks beyond the JSON schema; each returns clear messages naming the setting.
    validate: Callable[[Mapping[str, t.Any]], list[str]] = field(default=lambda _config: [])
