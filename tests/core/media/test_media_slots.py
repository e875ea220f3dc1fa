"""Download slots per site: a site's limit holds across the shard's download threads, other
sites are not held back, and a bad limit is refused by name."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from acav_assets.core.media import parse_sites
from acav_assets.core.media.slots import SiteSlots


def _peak(slots: SiteSlots, sites: list[str]) -> dict[str, int]:
    running: dict[str, int] = {}
    peak: dict[str, int] = {}
    lock = threading.Lock()

    def download(site: str) -> None:
        with slots.hold(site):
            with lock:
                running[site] = running.get(site, 0) + 1
                peak[site] = max(peak.get(site, 0), running[site])
            time.sleep(0.02)
            with lock:
                running[site] -= 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(download, sites))
    return peak


def test_a_site_never_has_more_downloads_at_once_than_its_slots() -> None:
    slots = SiteSlots(lambda site: 2 if site == "youtube" else None)
    peak = _peak(slots, ["youtube", "vimeo.com"] * 16)
    assert peak["youtube"] == 2
    assert peak["vimeo.com"] > 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "4"])
def test_a_bad_site_limit_is_refused_with_its_name(bad) -> None:
    with pytest.raises(ValueError, match="concurrent_downloads"):
        parse_sites({"youtube": {"concurrent_downloads": bad}})
    sites = parse_sites({"youtube": {"concurrent_downloads": 3}})
    assert sites["youtube"].concurrent_downloads == 3
