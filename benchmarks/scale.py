"""Benchmark: the sharded path at scale, all at once and by extension, against a single merge.

A planted corpus of ``--candidates`` clips in ``--shards`` shards (10 clusterings, k = 32,
half of the clips with agreeing audio and visual clusters, half with swapped audio) plus
``--extension-shards`` more of the same size, stored as ``cluster_assignments`` tables. Then,
through the code the assets run (core/selection: ``select_clips`` + ``winner_frame`` a shard,
``CuratedSet.select_group`` a merge group, ``CuratedSet.extend`` the final merge):

- full: every shard's own selection, the merge groups, the final merge, all S + E at once;
- base + extension: the S shards curated, then the E new shards added to that curated set;
- plain: the single merge this replaces (every assignment read, one merge of every winner).

Each stage is timed and its peak RSS measured alone (the kernel's high-water mark is reset
before it). The projection to the capacity plan's 336M clips uses the measured rates, with
the formula printed beside it. ``peak_rss_mb`` is the sharded path's worst stage;
``plain_peak_rss_mb`` the single merge's. Prints one JSON line; progress goes to stderr.

Usage: python benchmarks/scale.py --candidates N --shards S --extension-shards E
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from acav_assets.core.catalog.tables import PART_NAME, TableStore
from acav_assets.core.selection import (
    WINNERS_TABLE,
    CuratedSet,
    SelectionOptions,
    merge_candidates,
    merge_shard_winners,
    merge_target,
    read_curated_subset,
    select_clips,
    winner_frame,
)
from acav_assets.core.storage import StorageRoot

COLUMNS = [f"audio_{i}" for i in range(5)] + [f"visual_{i}" for i in range(5)]
K = 32
VERSION = "bench"
# The capacity plan (deployments/README.md): clips, shards at 2,000 videos x 0.8 x 3 clips,
# clips to keep, and the share each shard keeps (1.2 x T / C).
PLAN_CLIPS, PLAN_SHARD_CLIPS, PLAN_TARGET = 336_000_000, 4_800, 100_000_000


def _hwm_kb() -> int:
    return int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1))


def _reset_hwm() -> None:
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def stage(name: str, stages: dict[str, dict[str, float]], fn: Callable[[], Any]) -> Any:
    """Run ``fn`` as one stage: its seconds and its own peak RSS (MB)."""
    _reset_hwm()
    started, cpu = time.perf_counter(), time.process_time()
    result = fn()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    stages[name] = {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "peak_rss_mb": round(_hwm_kb() / 1024, 1),
    }
    print(f"{name}: {seconds:.1f} s ({cpu:.1f} s CPU), {stages[name]['peak_rss_mb']} MB",
          file=sys.stderr)  # fmt: skip
    return result


def planted_shard(shard: str, n: int, seed: int) -> pl.DataFrame:
    """One shard's assignments: half agreeing, half with the audio of another clip."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, K, size=n)
    labels = np.stack([(truth + rng.integers(0, 3, size=n)) % K for _ in COLUMNS], axis=1)
    swapped = rng.permutation(n)[: n // 2]
    labels[swapped, :5] = labels[rng.permutation(swapped), :5]
    return pl.DataFrame(labels, schema=COLUMNS).with_columns(
        pl.Series("clip_id", [f"{shard}:{i}" for i in range(n)]),
        pl.lit(VERSION).alias("clustering_version"),
    )


def make_corpus(tables: TableStore, names: list[str], n: int, seed: int) -> None:
    for i, shard in enumerate(names):
        tables.write("cluster_assignments", shard, planted_shard(shard, n, seed * 100_003 + i))


def select_shards(tables: TableStore, names: list[str], options: SelectionOptions) -> None:
    """Each shard's own selection, as the shard_selection asset makes it."""
    for done, shard in enumerate(names):
        assigned = tables.read("cluster_assignments", [shard])
        outcome = select_clips(
            assigned, COLUMNS, [K] * 10, ratio=options.shard_ratio, **options.search_kwargs()
        )
        tables.write(WINNERS_TABLE, shard, winner_frame(assigned, outcome.frame, COLUMNS, VERSION))
        if done % 100 == 99:
            print(f"  {done + 1}/{len(names)} shards selected", file=sys.stderr)


def link_winners(common: StorageRoot, root: StorageRoot, names: list[str]) -> None:
    """Let ``root`` see the shard winners of ``names`` (a hard link a file, no copy)."""
    for shard in names:
        source = common.path("tables", WINNERS_TABLE, f"shard={shard}", PART_NAME)
        target = root.path("tables", WINNERS_TABLE, f"shard={shard}", PART_NAME)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.link(source, target)


def curate(root: StorageRoot, options: SelectionOptions, prefix: str, stages: dict) -> dict:
    """The group merges (as the group_selection pods run them, here one after another),
    then the final merge; returns the extension's figures."""
    curated = CuratedSet(root, TableStore(root), COLUMNS, [K] * 10, VERSION, options)
    groups = curated.groups(curated.pending())
    times: list[float] = []

    def merge_groups() -> None:
        if len(groups) <= 1:
            return
        for group, shards in groups.items():
            started = time.perf_counter()
            curated.save_group(curated.select_group(group, shards))
            times.append(time.perf_counter() - started)

    stage(f"{prefix}_group_merges", stages, merge_groups)
    stages[f"{prefix}_group_merges"]["groups"] = len(groups)
    stages[f"{prefix}_group_merges"]["slowest_group_seconds"] = round(max(times, default=0), 3)
    extension = stage(f"{prefix}_final_merge", stages, curated.extend)
    if extension.groups_inline:
        raise RuntimeError(f"{extension.groups_inline} groups were not merged before the final")
    return {
        "objective": extension.objective,
        "added": extension.added,
        "selected": extension.record.selected,
        "candidates": extension.candidates,
        "batches": extension.batches,
        "clip_ids": set(read_curated_subset(root, curated.tables)["clip_id"]),
    }


def single_merge(tables: TableStore, options: SelectionOptions) -> tuple[float, set[str]]:
    """The plain merge this replaces: every assignment and winner read, one search."""
    assigned = tables.read("cluster_assignments")
    winners = tables.read(WINNERS_TABLE).select("clip_id", "shard", "clustering_version")
    candidates = merge_candidates(assigned, winners, VERSION)
    target = merge_target(None, options.ratio, assigned.height, candidates.height)
    frame, outcome = merge_shard_winners(
        candidates, COLUMNS, [K] * 10, target, **options.search_kwargs()
    )
    return outcome.objective, set(frame["clip_id"])


def projection(stages: dict, args: argparse.Namespace, n_shard: int) -> dict[str, Any]:
    """The capacity plan's 336M clips from the measured CPU rates (a pod with a core of its
    own runs at about its CPU time; wall seconds here are inflated by the shared box's load),
    the formulas beside the numbers."""
    all_shards = args.shards + args.extension_shards
    shard_rate = all_shards * n_shard / stages["full_shard_selection"]["cpu_seconds"]
    groups = stages["full_group_merges"]
    group_inputs = all_shards * n_shard * args.shard_ratio
    group_rate = group_inputs / max(groups["cpu_seconds"], 1e-9)
    final = stages["full_final_merge"]
    candidates = stages["full_final"]["candidates"]
    final_rate = candidates / max(final["cpu_seconds"], 1e-9)
    batch = args.merge_batch
    # memory a candidate of the final merge's largest batch costs above the process's
    # baseline (the shard stage's peak)
    held = min(candidates, batch)
    per_candidate = (final["peak_rss_mb"] - stages["full_shard_selection"]["peak_rss_mb"]) / held
    share = 1.2 * PLAN_TARGET / PLAN_CLIPS  # the share a shard keeps in the plan
    winners = share * PLAN_CLIPS
    group_winners = math.sqrt(winners * PLAN_TARGET)  # sqrt(W x T): group_target summed
    per_group = args.group_shards * PLAN_SHARD_CLIPS * share
    return {
        "clips": PLAN_CLIPS,
        "shard_selection_cpu_hours": round(PLAN_CLIPS / shard_rate / 3600, 2),
        "shard_selection_formula": f"C / {shard_rate:.0f} clips per CPU-s / 3600",
        "group_merge_pod_seconds": round(per_group / group_rate, 1),
        "group_merge_formula": (
            f"{args.group_shards} shards x {PLAN_SHARD_CLIPS} clips x {share:.3f} / "
            f"{group_rate:.0f} winners per CPU-s (each group its own pod)"
        ),
        "final_merge_cpu_hours": round(group_winners / final_rate / 3600, 2),
        "final_merge_formula": (
            f"sqrt(W x T) = sqrt({winners:.3g} x {PLAN_TARGET:.3g}) = {group_winners:.3g} "
            f"candidates / {final_rate:.0f} candidates per CPU-s / 3600, "
            f"in {math.ceil(group_winners / batch)} batches of {batch:,}"
        ),
        "final_merge_batch_mb": round(
            stages["full_shard_selection"]["peak_rss_mb"] + per_candidate * batch
        ),  # fmt: skip
        "final_merge_batch_formula": (
            f"{stages['full_shard_selection']['peak_rss_mb']:.0f} MB baseline + "
            f"{per_candidate * 1e6:.0f} B a candidate x {batch:,}"
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", type=int, default=200_000, help="clips of the S shards")
    parser.add_argument("--shards", type=int, default=20)
    parser.add_argument("--extension-shards", type=int, default=2)
    parser.add_argument("--ratio", type=float, default=0.1, help="global share kept")
    parser.add_argument("--shard-ratio", type=float, default=SelectionOptions.shard_ratio)
    parser.add_argument("--group-shards", type=int, default=SelectionOptions.merge_group_shards)
    parser.add_argument("--merge-batch", type=int, default=SelectionOptions.merge_batch)
    parser.add_argument("--skip-plain", action="store_true", help="no single-merge yardstick")
    parser.add_argument("--workdir", default=None, help="kept when given; else a temporary one")
    args = parser.parse_args()
    n_shard = args.candidates // args.shards
    options = SelectionOptions(
        ratio=args.ratio,
        shard_ratio=args.shard_ratio,
        merge_group_shards=args.group_shards,
        merge_batch=args.merge_batch,
    )
    work = args.workdir or tempfile.mkdtemp(prefix="acav-scale-")
    stages: dict[str, dict[str, Any]] = {}
    try:
        common = StorageRoot(os.path.join(work, "common"))
        tables = TableStore(common)
        base = [f"base-000000000000-{i:05d}" for i in range(args.shards)]
        more = [f"more-000000000000-{i:05d}" for i in range(args.extension_shards)]
        started = time.perf_counter()
        make_corpus(tables, base, n_shard, seed=0)
        make_corpus(tables, more, n_shard, seed=1)
        print(f"corpus written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        select_clips(planted_shard("warmup", 1000, 9), COLUMNS, [K] * 10, ratio=0.2)

        stage("base_shard_selection", stages, lambda: select_shards(tables, base, options))
        stage("extension_shard_selection", stages, lambda: select_shards(tables, more, options))
        parts = [stages[f"{p}_shard_selection"] for p in ("base", "extension")]
        stages["full_shard_selection"] = {
            "seconds": round(sum(p["seconds"] for p in parts), 3),
            "cpu_seconds": round(sum(p["cpu_seconds"] for p in parts), 3),
            "peak_rss_mb": max(p["peak_rss_mb"] for p in parts),
        }

        full_root = StorageRoot(os.path.join(work, "full"))
        link_winners(common, full_root, base + more)
        full = curate(full_root, options, "full", stages)
        stages["full_final"] = {"candidates": full["candidates"], "batches": full["batches"]}

        ext_root = StorageRoot(os.path.join(work, "extended"))
        link_winners(common, ext_root, base)
        curate(ext_root, options, "base", stages)
        link_winners(common, ext_root, more)
        extended = curate(ext_root, options, "extension", stages)

        plain_objective, plain_ids = None, None
        if not args.skip_plain:
            plain_objective, plain_ids = stage(
                "plain_single_merge", stages, lambda: single_merge(tables, options)
            )
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    def total(key: str, *names: str) -> float:
        return round(sum(stages[n][key] for n in names), 3)

    at_once = ("full_shard_selection", "full_group_merges", "full_final_merge")
    added = ("extension_shard_selection", "extension_group_merges", "extension_final_merge")
    full_seconds, extension_seconds = total("seconds", *at_once), total("seconds", *added)
    full_cpu, extension_cpu = total("cpu_seconds", *at_once), total("cpu_seconds", *added)
    peak = max(
        s["peak_rss_mb"]
        for n, s in stages.items()
        if "peak_rss_mb" in s and not n.startswith("plain")
    )
    result = {
        "benchmark": "scale",
        "candidates": args.candidates,
        "shards": args.shards,
        "extension_shards": args.extension_shards,
        "clips_per_shard": n_shard,
        "ratio": args.ratio,
        "shard_ratio": args.shard_ratio,
        "group_shards": args.group_shards,
        "merge_batch": args.merge_batch,
        "strategy": options.strategy,
        "selected": full["selected"],
        "full_seconds": full_seconds,
        "extension_seconds": extension_seconds,
        "extension_share_of_full": round(extension_seconds / full_seconds, 4),
        "full_cpu_seconds": full_cpu,
        "extension_cpu_seconds": extension_cpu,
        "extension_cpu_share_of_full": round(extension_cpu / full_cpu, 4),
        "objective_all_at_once": round(full["objective"], 6),
        "objective_extended": round(extended["objective"], 6),
        "objective_gap": round(extended["objective"] / full["objective"] - 1, 5),
        "overlap_extended_all_at_once": round(
            len(full["clip_ids"] & extended["clip_ids"]) / max(len(full["clip_ids"]), 1), 4
        ),
        "objective_single_merge": None if plain_objective is None else round(plain_objective, 6),
        "overlap_single_merge": None
        if plain_ids is None
        else round(len(full["clip_ids"] & plain_ids) / max(len(plain_ids), 1), 4),
        "peak_rss_mb": peak,
        "plain_peak_rss_mb": stages.get("plain_single_merge", {}).get("peak_rss_mb"),
        "stages": stages,
        "projection_336m": projection(stages, args, n_shard),
        "load": os.getloadavg()[0],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
