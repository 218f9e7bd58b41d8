"""A local stand-in for the vendor APIs, over real HTTP on localhost.

Tests, the demo and the benchmark drive the tap against it. Each vendor module speaks
that vendor's API as documented (auth, paging, filters, limits, error bodies); the
server adds what every vendor can do to a client: latency, 429s with and without
``Retry-After``, 5xx runs, dropped connections and malformed bodies, on demand.
"""
