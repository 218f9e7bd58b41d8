"""Tata Smartflo's call records API (work in progress)."""

from __future__ import annotations

from tap_callrecords.sandbox.server import Request, Response, VendorAPI, json_response


class SmartfloAPI(VendorAPI):
    prefix = "smartflo"

    def handle(self, request: Request) -> Response:
        return json_response(404, {"success": False, "message": "Not found"})
