"""One log line when something starts failing, one when it works again; nothing between.

The worker's loops look at the store every second or so; during an outage each look
fails. Logging each failure would write hundreds of lines a minute (and a traceback each),
burying the one line that matters: since when, and why.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger(__name__)


class Outage:
    def __init__(self, what: str, clock: Callable[[], datetime]) -> None:
        self.what, self.clock = what, clock
        self._lock = threading.Lock()
        self._since: datetime | None = None

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException) -> None:
        with self._lock:
            if self._since is not None:
                return
            self._since = self.clock()
        log.error(
            "%s is failing (%s: %s); retrying quietly until it works again",
            self.what,
            type(error).__name__,
            str(error).splitlines()[0][:300] if str(error) else "",
            exc_info=error,
        )

    def worked(self) -> None:
        with self._lock:
            since, self._since = self._since, None
        if since is not None:
            log.warning(
                "%s works again (failing since %s)", self.what, since.isoformat(timespec="seconds")
            )
