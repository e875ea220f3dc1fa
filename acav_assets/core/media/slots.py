"""Download slots per site: at most so many downloads from one site at once in a shard.

Why: the shard's pool (``concurrent_downloads``) bounds its downloads in all, but a shard that
mixes sites should not spend all of them on one site that allows fewer parallel requests than
another (a site's ``concurrent_downloads`` setting). Across shards, the Dagster pool
``downloads`` bounds how many shard steps download at once, so a site sees at most that many
times its per-shard slots.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator


class SiteSlots:
    """A semaphore per site, of ``limit(site)`` slots (``None``: no limit of its own)."""

    def __init__(self, limit: Callable[[str], int | None]) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore | None] = {}

    def _of(self, site: str) -> threading.BoundedSemaphore | None:
        with self._lock:
            if site not in self._slots:
                limit = self.limit(site)
                self._slots[site] = None if limit is None else threading.BoundedSemaphore(limit)
            return self._slots[site]

    @contextlib.contextmanager
    def hold(self, site: str) -> Iterator[None]:
        """Wait for one of ``site``'s slots and hold it for the ``with`` block."""
        slots = self._of(site)
        if slots is None:
            yield
            return
        with slots:
            yield
