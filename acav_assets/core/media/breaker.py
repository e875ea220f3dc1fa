"""A circuit breaker per site: stop asking a site that has started to refuse.

A site that answers with bot checks or rate limits (``PUSHBACK``) answers the next requests
the same way, and every extra request deepens the block. After ``trip_after`` such answers
in a row from one site (any other answer resets the count), the breaker opens for that site
for the rest of the shard: its remaining videos are not fetched but recorded as ``deferred``
(transient), so a later run picks them up, and the downloads already in flight finish.
Shared by the shard's download threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from acav_assets.core.reasons import PUSHBACK, Reason


class SiteBreaker:
    """Counts consecutive pushback answers per site; ``open_`` holds the tripped sites."""

    def __init__(self, trip_after: Callable[[str], int]) -> None:
        self.trip_after = trip_after
        self._lock = threading.Lock()
        self._streak: dict[str, int] = {}
        self.open_: dict[str, Reason] = {}

    def allows(self, site: str) -> bool:
        """Whether a request to ``site`` may still be made."""
        with self._lock:
            return site not in self.open_

    def record(self, site: str, reason: str | None) -> bool:
        """Note the answer of one request to ``site`` (``None``: it worked); return whether
        this answer opened the breaker."""
        with self._lock:
            if reason not in PUSHBACK:
                self._streak[site] = 0
                return False
            self._streak[site] = self._streak.get(site, 0) + 1
            if site in self.open_ or self._streak[site] < self.trip_after(site):
                return False
            self.open_[site] = Reason(reason)
            return True
