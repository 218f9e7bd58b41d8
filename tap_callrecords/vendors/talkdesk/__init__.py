"""Talkdesk Explore: call records from ``explore_calls`` report jobs.

The schema (``schemas/talkdesk_calls.json``) and the row conversion (``records``) live
here; the stream and settings come later.
"""
