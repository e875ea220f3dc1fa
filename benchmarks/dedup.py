"""Benchmark: what cross-shard dedup costs a shard, by the content index against the lookup it
replaced, side by side in one run.

``--shards`` shards of ``--videos`` videos each (a ``--duplicates`` share of each shard's
content already kept by an earlier shard) are deduplicated in turn, two ways:

- index: :func:`claim_content` on a :class:`ContentIndex` (one create-if-absent claim a
  content, hard links on this disk), then the shard's ``videos`` table written;
- plain: the lookup the index replaced, every other shard's ``videos`` table read for its
  content hashes (``known_content`` before the index), then the shard's table written.

A shard's cost is timed at the first and the last tenth of the run: the index's stays flat,
the plain one grows with the shards before it. The claims are then made again against moto's
S3 server over HTTP (conditional puts, ``If-None-Match: *``): a stand-in for an object store's
request path, not its latency. Prints one JSON line; progress goes to stderr.

Usage: python benchmarks/dedup.py --shards 200 --videos 2000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import time
import uuid

import numpy as np
import polars as pl

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.media.dedup import ContentIndex, Owner, claim_content
from acav_assets.core.media.records import SourceVideo, VideoRecord
from acav_assets.core.reasons import Reason
from acav_assets.core.storage import StorageRoot

VIDEOS = "videos"


def shard_contents(shards: int, videos: int, duplicates: float, seed: int) -> list[list[str]]:
    """Each shard's content hashes: fresh ones, and a share drawn from earlier shards."""
    rng = np.random.default_rng(seed)
    contents: list[list[str]] = []
    for s in range(shards):
        fresh = [hashlib.sha256(f"{s}:{i}".encode()).hexdigest() for i in range(videos)]
        if s:
            earlier = rng.integers(0, s, size=int(videos * duplicates))
            for i, e in enumerate(earlier):
                fresh[i] = contents[e][int(rng.integers(0, videos))]
        contents.append(fresh)
    return contents


def records(shard: str, hashes: list[str]) -> list[VideoRecord]:
    out = []
    for i, sha in enumerate(hashes):
        path = f"/media/{shard}/{i}.mp4"
        video = SourceVideo(video_id=f"{shard}-v{i}", source=path, url=None, path=path)
        out.append(VideoRecord(video, sha256=sha))
    return out


def videos_frame(rows: list[VideoRecord]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "video_id": [r.video.video_id for r in rows],
            "status": ["ok" if r.ok else "failed" for r in rows],
            "sha256": [r.sha256 for r in rows],
        }
    )


def by_index(index: ContentIndex, tables: TableStore, shard: str, hashes: list[str]) -> int:
    rows = records(shard, hashes)
    counts = claim_content(index, shard, rows, pl.DataFrame())
    tables.write(VIDEOS, shard, videos_frame(rows))
    return counts["duplicate"]


def by_reading_every_shard(tables: TableStore, shard: str, hashes: list[str]) -> int:
    """The replaced lookup: the content of every other shard's kept videos, then this one's."""
    others = [s for s in tables.shards(VIDEOS) if s != shard]
    known: set[str] = set()
    if others:
        frame = tables.read(VIDEOS, others).filter(pl.col("status") == "ok")
        known = set(frame["sha256"].drop_nulls())
    rows = records(shard, hashes)
    seen: set[str] = set()
    duplicates = 0
    for record in rows:
        if record.sha256 in known or record.sha256 in seen:
            record.mark(Reason.DUPLICATE_CONTENT, "seen in another shard or earlier")
            duplicates += 1
        seen.add(record.sha256)
    tables.write(VIDEOS, shard, videos_frame(rows))
    return duplicates


def run_shards(name: str, contents: list[list[str]], dedup) -> dict[str, float]:
    """Every shard in turn; the mean seconds a shard in the first and the last tenth."""
    seconds, duplicates = [], 0
    for s, hashes in enumerate(contents):
        started = time.perf_counter()
        duplicates += dedup(f"s-0123456789ab-{s:05d}", hashes)
        seconds.append(time.perf_counter() - started)
        if s % 50 == 49:
            print(f"  {name}: {s + 1}/{len(contents)} shards", file=sys.stderr)
    tenth = max(1, len(contents) // 10)
    return {
        "seconds": round(sum(seconds), 3),
        "first_tenth_shard_seconds": round(float(np.mean(seconds[:tenth])), 4),
        "last_tenth_shard_seconds": round(float(np.mean(seconds[-tenth:])), 4),
        "duplicates": duplicates,
    }


def s3_claims(hashes: list[str], workers: int) -> dict[str, float]:
    """One shard's claims on moto's S3 server, then the same claims again (all held)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line a request otherwise

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        options = {
            "key": "k",
            "secret": "s",
            "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": "x"},
            "skip_instance_cache": True,
        }
        bucket = f"acav-{uuid.uuid4().hex[:12]}"
        root = StorageRoot(f"s3://{bucket}/acav", storage_options=options)
        root.fs.mkdir(bucket)
        index = ContentIndex(root, workers=workers)
        unique = list(dict.fromkeys(hashes))
        claims = [(sha, Owner("s3", f"v{i}")) for i, sha in enumerate(unique)]
        started = time.perf_counter()
        index.claim_all(claims)
        fresh = time.perf_counter() - started
        started = time.perf_counter()
        held = index.claim_all([(sha, Owner("other", "v")) for sha, _ in claims])
        again = time.perf_counter() - started
        if any(h.shard != "s3" for h in held):
            raise RuntimeError("a held claim was taken on S3")
        return {
            "claims": len(claims),
            "workers": workers,
            "fresh_claims_per_second": round(len(claims) / fresh, 1),
            "held_claims_per_second": round(len(claims) / again, 1),
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shards", type=int, default=200)
    parser.add_argument("--videos", type=int, default=2000, help="videos a shard")
    parser.add_argument("--duplicates", type=float, default=0.05, help="share seen before")
    parser.add_argument("--workers", type=int, default=16, help="claims in flight")
    parser.add_argument("--plan-shards", type=int, default=70_000)
    args = parser.parse_args()
    contents = shard_contents(args.shards, args.videos, args.duplicates, seed=0)
    work = tempfile.mkdtemp(prefix="acav-dedup-")
    try:
        indexed = StorageRoot(os.path.join(work, "index"))
        index = ContentIndex(indexed, workers=args.workers)
        index_tables = TableStore(indexed)
        by_claims = run_shards("index", contents, lambda s, h: by_index(index, index_tables, s, h))
        plain_tables = TableStore(StorageRoot(os.path.join(work, "plain")))
        plain = run_shards(
            "plain", contents, lambda s, h: by_reading_every_shard(plain_tables, s, h)
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if by_claims["duplicates"] != plain["duplicates"]:
        raise RuntimeError(f"the index found {by_claims} duplicates, the plain lookup {plain}")
    print("claims on moto's S3 server", file=sys.stderr)
    s3 = s3_claims(contents[0], args.workers)
    # the plain lookup grows with the shards before it: its slope a shard, extrapolated
    growth = (plain["last_tenth_shard_seconds"] - plain["first_tenth_shard_seconds"]) / (
        args.shards * 0.9
    )
    plain_at_plan = plain["first_tenth_shard_seconds"] + growth * args.plan_shards
    result = {
        "benchmark": "dedup",
        "shards": args.shards,
        "videos_per_shard": args.videos,
        "duplicate_share": args.duplicates,
        "index": by_claims,
        "plain": plain,
        "s3_moto": s3,
        "plan_shards": args.plan_shards,
        "plain_shard_seconds_at_plan": round(plain_at_plan, 1),
        "plain_shard_seconds_formula": (
            f"{plain['first_tenth_shard_seconds']} s + {growth:.2e} s a shard before it x "
            f"{args.plan_shards:,}"
        ),
        "index_shard_seconds_at_plan": by_claims["last_tenth_shard_seconds"],
        "load": os.getloadavg()[0],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
