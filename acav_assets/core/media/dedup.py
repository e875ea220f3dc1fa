"""One index of kept content: each content hash is claimed once, by the first video to keep it.

Why: deduplicating a shard against the ``videos`` files of every other shard costs O(shards)
a shard (O(shards^2) a run), and two shards running at once could both keep one content. Here
a claim is one small object per hash, ``dedup/sha256/<h[:3]>/<h>``, created only if absent
(:meth:`StorageRoot.create_new`: a hard link on a local disk, a conditional put on an object
store), so a shard reads and writes O(its own videos) objects whatever the number of shards,
and of two shards that race for one content exactly one keeps it. The 4,096 prefixes spread
the requests of many pods over the object store's partitions.

A claim names its owner (shard and video id). A re-run of the owner finds its own claim and
keeps the video; a claim its shard no longer keeps (the video failed this time) is released
first, so the next video with that content keeps it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from acav_assets.core.media.records import VideoRecord
from acav_assets.core.reasons import Reason
from acav_assets.core.storage import StorageRoot

log = logging.getLogger(__name__)

CLAIMS_FOLDER = "dedup/sha256"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Owner:
    """The video that keeps a content."""

    shard: str
    video_id: str

    def to_bytes(self) -> bytes:
        return json.dumps({"shard": self.shard, "video_id": self.video_id}).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Owner:
        try:
            fields = json.loads(data)
            return cls(shard=str(fields["shard"]), video_id=str(fields["video_id"]))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"unreadable content claim {data[:200]!r}") from error


class ContentIndex:
    """Claims of content hashes under ``<root>/dedup``; ``workers`` requests at once."""

    def __init__(self, root: StorageRoot, workers: int = 16) -> None:
        self.root = root
        self.workers = workers

    def _path(self, sha256: str) -> str:
        if not isinstance(sha256, str) or not _SHA256.match(sha256):
            raise ValueError(f"not a lowercase hex sha256: {sha256!r}")
        return self.root.path(CLAIMS_FOLDER, sha256[:3], sha256)

    def claim(self, sha256: str, owner: Owner) -> Owner:
        """The owner of ``sha256`` after this call: ``owner`` if it was free, else the holder."""
        path = self._path(sha256)
        if self.root.create_new(path, owner.to_bytes()):
            return owner
        return Owner.from_bytes(self.root.read_bytes(path))

    def holder(self, sha256: str) -> Owner | None:
        path = self._path(sha256)
        try:
            return Owner.from_bytes(self.root.read_bytes(path))
        except FileNotFoundError:
            return None

    def release(self, sha256: str, owner: Owner) -> bool:
        """Remove the claim if ``owner`` holds it (nobody else can take a held claim, so the
        check and the removal do not race); returns whether it was removed."""
        if self.holder(sha256) != owner:
            return False
        self.root.fs.rm(self._path(sha256))
        return True

    def claim_all(self, claims: Sequence[tuple[str, Owner]]) -> list[Owner]:
        """:meth:`claim` for each (hash, owner), ``workers`` at a time, in order."""
        if not claims:
            return []
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(lambda c: self.claim(*c), claims))

    def release_all(self, claims: Sequence[tuple[str, Owner]]) -> int:
        if not claims:
            return 0
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return sum(pool.map(lambda c: self.release(*c), claims))


def first_of_each_content(records: Sequence[VideoRecord]) -> dict[str, VideoRecord]:
    """Hash -> the first kept record with that content, in manifest order."""
    first: dict[str, VideoRecord] = {}
    for record in records:
        if record.ok and record.sha256 is not None:
            first.setdefault(record.sha256, record)
    return first


def claim_content(
    index: ContentIndex,
    shard: str,
    records: Sequence[VideoRecord],
    previous: pl.DataFrame,
) -> dict[str, int]:
    """Mark as duplicates the records whose content another video keeps: within the shard
    the first in manifest order keeps it, across shards the first to claim it in ``index``.
    ``previous`` is the shard's earlier ``videos`` rows: the claims of videos it kept then
    but not now are released first. Returns counters (claimed, duplicate, released)."""
    first = first_of_each_content(records)
    kept_now = {(sha, r.video.video_id) for sha, r in first.items()}
    stale = []
    if previous.height and "sha256" in previous.columns:
        earlier = previous.filter((pl.col("status") == "ok") & pl.col("sha256").is_not_null())
        stale = [
            (sha, Owner(shard, video_id))
            for sha, video_id in zip(earlier["sha256"], earlier["video_id"], strict=True)
            if (sha, video_id) not in kept_now
        ]
    released = index.release_all(stale)
    mine = [(sha, Owner(shard, r.video.video_id)) for sha, r in first.items()]
    holders = dict(zip(first, index.claim_all(mine), strict=True))
    duplicates = 0
    for record in records:
        if not record.ok or record.sha256 is None:
            continue
        holder = holders[record.sha256]
        if holder != Owner(shard, record.video.video_id):
            where = "" if holder.shard == shard else f" (shard {holder.shard})"
            record.mark(Reason.DUPLICATE_CONTENT, f"same content as {holder.video_id}{where}")
            duplicates += 1
    log.info(
        "shard %s: %d contents claimed, %d duplicates, %d stale claims released",
        shard, len(first), duplicates, released,
    )  # fmt: skip
    return {"claimed": len(first), "duplicate": duplicates, "released": released}
