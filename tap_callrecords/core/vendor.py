"""What a vendor declares, once: its settings, secrets, checks, client and streams.

A vendor package builds one :class:`Vendor`; the tap reads nothing else from it. Every
default, bound and secret is written once, in the settings schema: the SDK fills
defaults into the config before the tap reads it, :mod:`~tap_callrecords.core.bounds`
turns a value out of bounds into the user's message, and a property marked ``secret``
is masked in everything the tap prints.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from singer_sdk import typing as th

from tap_callrecords.core.bounds import SettingCheck, check_settings

if t.TYPE_CHECKING:
    import logging

    from singer_sdk import Stream

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
    #: Checks of one setting that the schema cannot express (a phone region, a time
    #: zone), by setting name; such a setting is checked by its code alone.
    setting_checks: Mapping[str, SettingCheck] = field(default_factory=dict)
    #: Checks across settings (exactly one way to authenticate): messages naming them.
    cross_checks: Callable[[Mapping[str, t.Any]], list[str]] = field(default=lambda _config: [])
    #: Sets of settings, any one of which is enough to use the vendor (Meltano's
    #: ``settings_group_validation``); empty: the schema's required settings are the one set.
    setting_groups: tuple[tuple[str, ...], ...] = ()
    #: The streams a settings object reads, of :attr:`streams` (an API version setting
    #: choosing one endpoint); ``None``: every stream. Discovery lists them all.
    streams_for: Callable[[Mapping[str, t.Any]], tuple[type[WindowedStream], ...]] | None = None

    def configured_streams(self, config: Mapping[str, t.Any]) -> tuple[type[WindowedStream], ...]:
        """The streams a sync with this settings object builds."""
        return self.streams if self.streams_for is None else self.streams_for(config)

    @property
    def every_stream(self) -> tuple[type[Stream], ...]:
        """The vendor's streams and, after each, those written from its read."""
        return tuple(each for stream in self.streams for each in (stream, *stream.derived))

    @property
    def secret_settings(self) -> tuple[str, ...]:
        """Setting names inside the vendor object whose values are secret (``secret=True``)."""
        properties = self.settings.to_dict()["properties"]
        return tuple(name for name, schema in properties.items() if schema.get("secret"))

    def validate(self, config: Mapping[str, t.Any]) -> list[str]:
        """Every problem with this vendor's settings object, as the user's messages: the
        schema's required settings and bounds, then the checks written as code."""
        schema = self.settings.to_dict()
        return [
            *check_settings(config, schema["properties"], required=schema.get("required", ()),
                            prefix=f"{self.key}.", owner=self.label, checks=self.setting_checks),
            *self.cross_checks(config),
        ]

    def required_groups(self) -> list[list[str]]:
        """Each group of settings that configures the vendor, as ``<vendor>.<setting>`` names."""
        groups = self.setting_groups or (tuple(self.settings.to_dict().get("required", [])),)
        return [[f"{self.key}.{name}" for name in group] for group in groups]
