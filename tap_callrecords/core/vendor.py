"""What a vendor declares, once: its settings, secrets, checks, client and streams.

A vendor package builds one :class:`Vendor`; the tap reads nothing else from it. Every
default is written once, in the settings schema (the SDK fills defaults into the config
before the tap reads it).
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from singer_sdk import typing as th

if t.TYPE_CHECKING:
    import logging

    from tap_callrecords.core.client import RequestSettings, VendorClient
    from tap_callrecords.core.stream import WindowedStream


class ClientFactory(t.Protocol):
    """Builds a vendor's client from its settings object and the shared request settings."""

    def __call__(
        self, settings: Mapping[str, t.Any], request: RequestSettings, logger: logging.Logger
    ) -> VendorClient: ...


@dataclass(frozen=True)
class Vendor:
    """A vendor: its settings object, its client and the streams read through it."""

    key: str
    label: str
    settings: th.PropertiesList
    client: ClientFactory
    streams: tuple[type[WindowedStream], ...]
    #: Setting names inside the vendor object whose values are secret.
    secret_settings: tuple[str, ...] = ()
    #: Checks beyond the JSON schema; each returns clear messages naming the setting.
    validate: Callable[[Mapping[str, t.Any]], list[str]] = field(default=lambda _config: [])
    #: Sets of settings, any one of which is enough to use the vendor (Meltano's
    #: ``settings_group_validation``); empty: the schema's required settings are the one set.
    setting_groups: tuple[tuple[str, ...], ...] = ()

    def required_groups(self) -> list[list[str]]:
        """Each group of settings that configures the vendor, as ``<vendor>.<setting>`` names."""
        groups = self.setting_groups or (tuple(self.settings.to_dict().get("required", [])),)
        return [[f"{self.key}.{name}" for name in group] for group in groups]
