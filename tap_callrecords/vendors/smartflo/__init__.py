"""Tata Smartflo: call detail records from ``/v1/call/records``."""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from singer_sdk import typing as th

from tap_callrecords.core.bounds import describe_bounds
from tap_callrecords.core.phones import REGION_DESCRIPTION, check_region
from tap_callrecords.core.vendor import Vendor
from tap_callrecords.vendors.smartflo.api import LABEL, smartflo_client
from tap_callrecords.vendors.smartflo.stream import SmartfloCallRecordsStream

SETTINGS = describe_bounds(th.PropertiesList(
    th.Property("api_token", th.StringType, secret=True,
                description="Long-lived API token from the Smartflo portal (with or without a "
                "\"Bearer \" prefix). Set this, or email and password."),
    th.Property("email", th.StringType,
                description="Login email; the tap logs in with it and password and renews the "
                "one-hour token itself."),
    th.Property("password", th.StringType, secret=True, description="Login password, with email."),
    th.Property("api_url", th.StringType, default="https://api-smartflo.tatateleservices.com",
                description="Smartflo API root."),
    th.Property("page_size", th.IntegerType(minimum=1, maximum=10_000), default=100,
                description="Records per page (the API's limit); the API's maximum is undocumented."),
    th.Property("max_requests_per_second", th.NumberType(exclusive_minimum=0), default=1,
                description="Cap on requests per second, logins included. Smartflo's limit is "
                "account-wide, equals the trunk's calls per second and is shared with the "
                "account's other integrations."),
    th.Property("max_parallel_windows", th.IntegerType(minimum=1, maximum=32), default=8,
                description="Windows read at once; each window's pages stay in order and every "
                "request, logins included, waits on the one rate cap. Each window has one request "
                "out at a time: the default, 8, keeps a cap of up to 5/s (a typical trunk's calls "
                "per second) busy when each reply takes a second."),
    th.Property("window_hours", th.IntegerType(minimum=1, maximum=24), default=1,
                description="Hours per request window; the bookmark advances per window."),
    th.Property("direction", th.StringType, allowed_values=["inbound", "outbound"],
                description="Only calls in this direction."),
    th.Property("call_type", th.StringType, allowed_values=["c", "m"],
                description="Only answered (c) or missed (m) calls."),
    th.Property("agents", th.ArrayType(th.StringType),
                description="Only calls of these agents, each as agent|<id>."),
    th.Property("department", th.ArrayType(th.StringType),
                description="Only calls of these department ids."),
    th.Property("ivr", th.ArrayType(th.StringType), description="Only calls of these IVR ids."),
    th.Property("array_filter_form", th.StringType, allowed_values=["brackets", "repeated"],
                default="brackets",
                description="How agents, department and ivr are sent (Smartflo documents them as "
                "arrays, not their encoding): brackets sends agents[]=a&agents[]=b, which a PHP "
                "server reads whole; repeated sends agents=a&agents=b, for a gateway that "
                "ignores brackets (PHP keeps only the last)."),
    th.Property("did_number", th.StringType, description="Only calls routed from this DID."),
    th.Property("services", th.StringType,
                description="Only calls of these services, comma-separated."),
    th.Property("default_phone_region", th.StringType, default="IN",
                description=f"{REGION_DESCRIPTION} IN by default: Smartflo is an Indian service and "
                "writes Indian numbers without the + (919650134255, or national 09650134255). "
                "Numbers of other countries are read only with their +."),
))

CREDENTIALS_HINT = "set either smartflo.api_token, or smartflo.email and smartflo.password"


def check_credentials(config: Mapping[str, t.Any]) -> list[str]:
    """Exactly one way to authenticate: an API token, or an email with its password."""
    errors: list[str] = []
    has_token = bool(config.get("api_token"))
    email, password = bool(config.get("email")), bool(config.get("password"))
    if has_token and (email or password):
        errors.append(f"smartflo has both an API token and a login; {CREDENTIALS_HINT}, not both.")
    elif not has_token and not (email or password):
        errors.append(f"smartflo has no credentials; {CREDENTIALS_HINT}.")
    elif not has_token and not email:
        errors.append("smartflo.email is missing; Tata Smartflo needs it with smartflo.password.")
    elif not has_token and not password:
        errors.append("smartflo.password is missing; Tata Smartflo needs it with smartflo.email.")
    return errors


SMARTFLO = Vendor(
    key="smartflo",
    label=LABEL,
    settings=SETTINGS,
    client=smartflo_client,
    streams=(SmartfloCallRecordsStream,),
    setting_checks={"default_phone_region": check_region},
    cross_checks=check_credentials,
    setting_groups=(("api_token",), ("email", "password")),
)
