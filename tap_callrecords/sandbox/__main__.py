"""Run the sandbox: ``python -m tap_callrecords.sandbox`` or ``callrecords-sandbox``.

Prints ``READY <base url>`` once listening, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys

from tap_callrecords.sandbox.server import build_server
from tap_callrecords.sandbox.vendors import SANDBOX_APIS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--configure", action="append", default=[], metavar="JSON",
        help='vendor options, e.g. \'{"vendor": "voiso", "count": 25000}\' (repeatable)',
    )
    args = parser.parse_args(argv)
    server, sandbox = build_server(args.host, args.port, SANDBOX_APIS)
    for text in args.configure:
        options = json.loads(text)
        sandbox.vendors[options["vendor"]].configure(options)
    print(f"READY http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
