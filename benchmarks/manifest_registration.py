"""Manifest registration at scale: rows per second and peak memory, streaming vs in memory.

Generates ACAV100M-style lists (``videoID,start,end``, unique 11-character ids, seeded) of
each ``--rows`` count, registers each in a fresh storage root in a child process and reports
its wall time, CPU time and peak RSS. Side by side, in the same run: the in-memory way (the
whole list checked into one DataFrame, sharded there, shards written one after another) for
the counts up to ``--in-memory-max-rows``. The goal: at least 200K rows/s and a peak RSS
under 500 MB whatever the count.

    PYTHONPATH=$PWD nice -n 10 .venv/bin/python benchmarks/manifest_registration.py \
        --rows 1000000 10000000

Prints one JSON line on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)
_CHUNK_ROWS = 1_000_000


def generate(path: str, rows: int, seed: int) -> None:
    """An ACAV-style list of ``rows`` unique videos, written a million rows at a time."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as handle:
        for start in range(0, rows, _CHUNK_ROWS):
            n = min(_CHUNK_ROWS, rows - start)
            ids = _ALPHABET[rng.integers(0, len(_ALPHABET), size=(n, 11))]
            begins = rng.integers(0, 587, size=n)
            lines = [
                f"{vid},{b}.000,{b + 10}.000\n"
                for vid, b in zip(ids.view("S11").ravel().astype(str), begins, strict=True)
            ]
            handle.write("".join(lines).encode())


def _child(kind: str, manifest: str, home: str, shard_size: int) -> dict:
    """One registration in this process; its time and this process's peak RSS."""
    from acav_assets.core.catalog import TableStore
    from acav_assets.core.media.manifest import load_manifest
    from acav_assets.core.media.sources import SOURCES_TABLE, register_manifest, shard_manifest
    from acav_assets.core.storage import StorageRoot

    tables = TableStore(StorageRoot(home))
    began, cpu = time.perf_counter(), time.process_time()
    if kind == "streaming":
        shards = len(register_manifest(manifest, tables, shard_size, scratch_dir=home))
    else:
        import polars as pl

        loaded = load_manifest(manifest)
        pieces = shard_manifest(loaded, shard_size)
        for piece in pieces:
            tables.write(
                SOURCES_TABLE,
                piece.key,
                piece.rows.with_columns(
                    pl.lit(loaded.source).alias("source"),
                    pl.lit(loaded.sha256).alias("source_sha256"),
                ),
            )
        shards = len(pieces)
    return {
        "seconds": round(time.perf_counter() - began, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "shards": shards,
    }


def _measure(kind: str, manifest: str, rows: int, shard_size: int, scratch: str) -> dict:
    home = tempfile.mkdtemp(prefix=f"acav-bench-{kind}-", dir=scratch)
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", kind, manifest, home, str(shard_size)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        shutil.rmtree(home, ignore_errors=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["rows_per_s"] = round(rows / result["seconds"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--in-memory-max-rows", type=int, default=1_000_000)
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scratch", default=None, help="Where the lists and roots go.")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "MANIFEST", "HOME", "SIZE"))
    args = parser.parse_args()
    if args.child:
        kind, manifest, home, size = args.child
        sys.stdout.write(json.dumps(_child(kind, manifest, home, int(size))) + "\n")
        return
    scratch = tempfile.mkdtemp(prefix="acav-bench-manifests-", dir=args.scratch)
    results = []
    try:
        for rows in args.rows:
            manifest = os.path.join(scratch, f"acav-{rows}.csv")
            print(f"generating {rows} rows", file=sys.stderr)
            generate(manifest, rows, args.seed)
            kinds = ["streaming"] + (["in_memory"] if rows <= args.in_memory_max_rows else [])
            for kind in kinds:
                print(f"registering {rows} rows ({kind})", file=sys.stderr)
                measured = _measure(kind, manifest, rows, args.shard_size, scratch)
                print(f"  {measured}", file=sys.stderr)
                results.append({"rows": rows, "implementation": kind, **measured})
            os.remove(manifest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[:3]
    summary = {
        "benchmark": "manifest_registration",
        "format": "ACAV100M csv (videoID,start,end), unique videos",
        "shard_size": args.shard_size,
        "seed": args.seed,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "loadavg": load,
        "results": results,
    }
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
