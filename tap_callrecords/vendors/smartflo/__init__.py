"""Tata Smartflo: call detail records (work in progress; see the Smartflo issue)."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_callrecords.vendors.base import Vendor

SMARTFLO = Vendor(
    key="smartflo",
    label="Tata Smartflo",
    settings=th.PropertiesList(th.Property("api_url", th.StringType)),
    streams=(),
)
