"""False rejections on real media: valid files that ingest refuses, or whose clips fail to
decode.

A file is valid when ffmpeg decodes it from start to end (exit 0, frames from each of its
video and audio streams): the ground truth needs no judgement. Every media file under the
given folders is ingested as local files (``clip_strategy=middle``, duration filters off: a
policy refusal is not a false one), then each clip window the ingest chose is decoded for
both networks (frames and samples, as the extractors read them). A valid file refused by
ingest, or whose clip does not decode, is a false rejection; an invalid file that is kept is
reported too. Refusals by policy (no audio stream, too short, ...) are counted apart.

    PYTHONPATH=$PWD nice -n 10 .venv/bin/python benchmarks/false_rejection.py \
        /work/data/real/corpus/videos /work/data/real/packages/unpacked

Prints one JSON line on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.features.decode import ClipDecodeError, sample_audio, sample_video
from acav_assets.core.features.shards import clip_windows
from acav_assets.core.media import IngestOptions, ingest_shard, register_manifest
from acav_assets.core.media.manifest import video_id_for
from acav_assets.core.reasons import Reason
from acav_assets.core.storage import StorageRoot

EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".ogv")
FRAMES, SAMPLE_RATE = 16, 22050  # the visual and audio networks' inputs
# refusals by policy, not by judging the file: acav needs both streams, a clip's length, ...
POLICY = {
    Reason.NO_AUDIO_STREAM, Reason.NO_VIDEO_STREAM, Reason.TOO_SHORT, Reason.TOO_LONG,
    Reason.TOO_SMALL, Reason.DUPLICATE_CONTENT,
}  # fmt: skip


def media_files(folders: list[str]) -> list[str]:
    found = []
    for folder in folders:
        for parent, _, names in os.walk(folder):
            found += [os.path.join(parent, n) for n in names if n.lower().endswith(EXTENSIONS)]
    return sorted(found)


def decodes_whole(path: str) -> bool:
    """ffmpeg decodes every video and audio stream from start to end."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v?", "-map", "0:a?",
         "-c:v", "wrapped_avframe", "-c:a", "pcm_s16le", "-f", "framecrc", "pipe:1"],
        capture_output=True, text=True,
    )  # fmt: skip
    streams = {line.split(",", 1)[0] for line in done.stdout.splitlines() if line[:1].isdigit()}
    return done.returncode == 0 and bool(streams)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--clip-seconds", type=float, default=2.0)
    args = parser.parse_args()
    began = time.perf_counter()
    paths = media_files(args.folders)
    print(f"{len(paths)} files; decoding each whole", file=sys.stderr)
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        valid = dict(zip(paths, pool.map(decodes_whole, paths), strict=True))
    with tempfile.TemporaryDirectory(prefix="acav-false-rejection-") as home:
        root, manifest = StorageRoot(os.path.join(home, "root")), os.path.join(home, "m.txt")
        with open(manifest, "w") as handle:
            handle.writelines(f"{path}\n" for path in paths)
        tables = TableStore(root)
        options = IngestOptions(
            allowed_roots=tuple(os.path.abspath(f) for f in args.folders),
            shard_size=len(paths),
            clip_strategy="middle",
            clips_per_video=1,
            clip_seconds=args.clip_seconds,
            min_duration_s=args.clip_seconds,
            max_duration_s=1e9,
            dedup_across_shards=False,
            max_failed_share=1.0,
        )
        (shard,) = register_manifest(manifest, tables, len(paths))
        print("ingesting", file=sys.stderr)
        ingest_shard(root, tables, shard, options, run_id="bench", code_version="bench")
        videos = {row["video_id"]: row for row in tables.read("videos", [shard]).to_dicts()}
        windows = clip_windows(tables, shard).to_dicts()
        clips = dict(zip(*tables.read("clips", [shard])[["clip_id", "video_id"]], strict=True))
        print(f"decoding {len(windows)} clip windows", file=sys.stderr)
        failed: dict[str, list[str]] = {}
        for window in windows:
            span = [(window["start_s"], window["end_s"])]
            media = (sample_video(window["path"], span, FRAMES)[0],
                     sample_audio(window["path"], span, SAMPLE_RATE)[0])  # fmt: skip
            reasons = [str(m.reason) for m in media if isinstance(m, ClipDecodeError)]
            if reasons:
                failed[clips[window["clip_id"]]] = reasons
    outcomes: Counter = Counter()
    false_rejections = []
    for path in paths:
        video_id = video_id_for(url=None, youtube_id=None, path=os.path.abspath(path))
        row = videos[video_id]
        why = row["reason"] if row["status"] != "ok" else ",".join(failed.get(video_id, []))
        outcomes[(valid[path], why or "ok")] += 1
        if valid[path] and why and why not in POLICY:
            false_rejections.append({"file": os.path.basename(path), "why": why,
                                     "detail": (row["detail"] or "")[:200]})  # fmt: skip
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[:3]
    n_valid = sum(valid.values())
    summary = {
        "benchmark": "false_rejection",
        "folders": args.folders,
        "files": len(paths),
        "valid": n_valid,
        "refused_by_policy": sum(n for (_, why), n in outcomes.items() if why in POLICY),
        "false_rejections": len(false_rejections),
        "false_rejection_rate": round(len(false_rejections) / max(1, n_valid), 4),
        "invalid_kept": outcomes[(False, "ok")],
        "outcomes": {f"{'valid' if v else 'invalid'}:{why}": n for (v, why), n in outcomes.items()},
        "rejected": false_rejections,
        "seconds": round(time.perf_counter() - began, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "loadavg": load,
    }
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
