"""Zoom Contact Center's voice call logs API (work in progress)."""

from __future__ import annotations

from tap_callrecords.sandbox.server import Request, Response, VendorAPI, json_response


class ZoomAPI(VendorAPI):
    prefix = "zoom"

    def handle(self, request: Request) -> Response:
        return json_response(404, {"code": 404, "message": "Not found"})
