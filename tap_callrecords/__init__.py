"""tap-callrecords: call detail records from contact-center platforms, as a Singer tap."""
