"""The embedded timer sweeper: a daemon thread in the server process, for the no-broker mode."""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections

from engine.services import timers_fire_due
from engine.services.inbox_counts import inbox_counts_compact

logger = logging.getLogger(__name__)


class TimerSweeper(threading.Thread):
    """Fires due timers every ``ENGINE_TIMER_SWEEP_SECONDS`` until stopped, and folds the inbox counters'
    delta rows every ``ENGINE_INBOX_COMPACT_SECONDS``."""

    def __init__(self, interval=None):
        super().__init__(name="timer-sweeper", daemon=True)
        self.interval = interval or settings.ENGINE_TIMER_SWEEP_SECONDS
        self._stopped = threading.Event()

    def run(self):
        compacted_at = time.monotonic()
        while not self._stopped.wait(self.interval):
            try:
                fired = timers_fire_due()
                if fired:
                    logger.info("Fired %d due timer(s).", fired)
                if time.monotonic() - compacted_at >= settings.ENGINE_INBOX_COMPACT_SECONDS:
                    compacted_at = time.monotonic()
                    inbox_counts_compact()
            except Exception:  # noqa: BLE001 - a failed sweep is logged and retried on the next tick
                logger.exception("Timer sweep failed; retrying on the next tick.")
            finally:
                close_old_connections()

    def stop(self):
        self._stopped.set()
