"""Zoom Contact Center: voice call logs (work in progress; see the Zoom issue)."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_callrecords.vendors.base import Vendor

ZOOM = Vendor(
    key="zoom",
    label="Zoom Contact Center",
    settings=th.PropertiesList(th.Property("api_url", th.StringType)),
    streams=(),
)
