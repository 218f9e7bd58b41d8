"""Voiso API v4: scoped Bearer keys, exact ``started_at`` filters, cursor paging.

An addition beside the v2 package: ``voiso.api_version: v4`` builds the client and the
``voiso_cdrs_v4`` stream of this package instead of v2's.
"""
