"""Benchmark: Dagster's partition storage on PostgreSQL at the capacity plan's scale.

Registers ``--partitions`` dynamic shard partitions (default 50,000; 140M videos at 2,000 a
shard are 70,000) on a throwaway PostgreSQL with the production storage settings
(deployments/dagster.k8s.yaml), then times what grows with them: listing the partitions,
one tick of ``new_manifest_sensor`` (it lists them once a tick), one of ``merge_schedule``
and of ``publish_schedule``. The plain yardstick is a listing of 1,000 partitions in the same
run. Prints one JSON line; the server comes from tests/postgres_fixtures.py.

Usage: python benchmarks/partitions.py [--partitions N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from postgres_fixtures import production_instance_yaml, start_postgres  # noqa: E402

from acav_assets.defs.export.schedules import publish_schedule  # noqa: E402
from acav_assets.defs.media.sensors import new_manifest_sensor  # noqa: E402
from acav_assets.defs.resources import AcavHome  # noqa: E402
from acav_assets.defs.selection.schedules import merge_schedule  # noqa: E402


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return round(best, 4)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partitions", type=int, default=50_000)
    args = parser.parse_args()
    server = start_postgres()
    work = Path(tempfile.mkdtemp(prefix="acav-partitions-"))
    try:
        os.environ.update(server.environment())
        k8s = yaml.safe_load((REPO / "deployments" / "dagster.k8s.yaml").read_text())
        (work / "dagster.yaml").write_text(yaml.safe_dump(production_instance_yaml(server, k8s)))
        acav = AcavHome(root=str(work / "acav"))
        with dg.DagsterInstance.from_config(str(work)) as instance:
            keys = [f"big-0123456789ab-{i:05d}" for i in range(args.partitions)]
            started = time.perf_counter()
            for i in range(0, len(keys), 10_000):
                instance.add_dynamic_partitions("shards", keys[i : i + 10_000])
            register_seconds = time.perf_counter() - started
            small = dg.DagsterInstance.from_config(str(work))
            small.add_dynamic_partitions("small", keys[:1000])
            list_small = timed(lambda: small.get_dynamic_partitions("small"))
            list_all = timed(lambda: instance.get_dynamic_partitions("shards"))
            has_one = timed(lambda: instance.has_dynamic_partition("shards", keys[-1]))
            # a manifest registered but its shards not yet requested: the sensor lists them all
            cursor = json.dumps({str(work / "acav" / "sources" / "big.csv"): {
                "digest": "0123456789ab" + "0" * 52, "shards_requested": False}})  # fmt: skip

            def sensor_tick():
                context = dg.build_sensor_context(
                    instance=instance, cursor=cursor, resources={"acav": acav}
                )
                return new_manifest_sensor(context)

            sensor_seconds = timed(sensor_tick, repeat=2)
            requested = len(sensor_tick().run_requests)
            merge_seconds = timed(
                lambda: merge_schedule(dg.build_schedule_context(instance=instance))
            )
            publish_seconds = timed(
                lambda: publish_schedule(dg.build_schedule_context(instance=instance))
            )
        result = {
            "benchmark": "partitions",
            "partitions": args.partitions,
            "register_seconds": round(register_seconds, 3),
            "list_partitions_seconds": list_all,
            "list_1000_partitions_seconds": list_small,
            "has_partition_seconds": has_one,
            "manifest_sensor_tick_seconds": sensor_seconds,
            "manifest_sensor_run_requests": requested,
            "merge_schedule_tick_seconds": merge_seconds,
            "publish_schedule_tick_seconds": publish_seconds,
            "load": os.getloadavg()[0],
        }
        print(json.dumps(result))
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
