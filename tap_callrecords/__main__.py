"""Allow ``python -m tap_callrecords``."""

from tap_callrecords.tap import main

main()
