"""Machinery every vendor shares: windows, retries, auth, state, conversions, redaction.

Nothing in this package knows a vendor by name.
"""
