"""The Telegram channel."""

import os

# Flood-control waits as timedelta (PTB's future default) rather than a deprecated int.
os.environ.setdefault("PTB_TIMEDELTA", "true")
