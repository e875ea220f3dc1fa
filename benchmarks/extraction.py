"""Extraction throughput: clips per second with the default audio and visual extractors.

Makes 10 s clip windows of 360p videos (three windows of each 30 s video, as the clip stage
cuts them), embeds them with SoundNet and MobileNetV2 through ``extract_shard`` (decoding in
DataLoader workers), and prints one JSON line: clips/s for both extractors together, decode
and model seconds apart, and peak memory of the process and of its decoding workers.

    python benchmarks/extraction.py --videos 8 --threads 1 --workers 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import polars as pl

VIDEO_SOURCES = ("testsrc2", "mandelbrot", "life=ratio=0.3:mold=10", "cellauto=rule=110")
SECONDS = 30
WINDOW = 10.0


def make_media(folder: str, n_videos: int) -> list[str]:
    """30 s 640x360 H.264/AAC videos, keyframe every 2 s (as streaming sites encode)."""
    paths = []
    for i in range(n_videos):
        path = os.path.join(folder, f"video-{i}.mp4")
        paths.append(path)
        if os.path.exists(path):
            continue
        source = VIDEO_SOURCES[i % len(VIDEO_SOURCES)]
        video = (
            f"{source}:size=640x360:rate=30" if "=" in source else f"{source}=size=640x360:rate=30"
        )
        audio = f"sine=frequency={220 + 55 * i}:sample_rate=44100"
        command = [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-t", str(SECONDS), "-i", video,
            "-f", "lavfi", "-t", str(SECONDS), "-i", audio,
            "-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", path,
        ]  # fmt: skip
        subprocess.run(command, check=True)
    return paths


def _cpu_seconds() -> float:
    """CPU time of this process and its finished workers: the honest figure on a busy box."""
    own, workers = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def _run(args: argparse.Namespace, paths: list[str]) -> dict:
    """Embed every window with both default extractors; figures of this process."""
    import torch

    from acav_assets.core.features import extract_shard, get_extractor

    torch.set_num_threads(args.threads)
    rows = [
        {"clip_id": f"v{i}-{w}", "path": p, "start_s": w * WINDOW, "end_s": (w + 1) * WINDOW}
        for i, p in enumerate(paths)
        for w in range(int(SECONDS // WINDOW))
    ]
    clips = pl.DataFrame(rows)
    extractors = [
        get_extractor("soundnet8", device=args.device),
        get_extractor("mobilenet_v2", device=args.device),
    ]
    for extractor in extractors:  # weights and first-call warm-up are not throughput
        extractor.load()
        extract_shard(clips.head(2), extractor, batch_size=2, num_workers=0, device=None)
    load_before = os.getloadavg()[0]
    cpu_before = _cpu_seconds()
    began = time.perf_counter()
    per_extractor = {}
    for extractor in extractors:
        result = extract_shard(
            clips, extractor, batch_size=args.batch_size, num_workers=args.workers, device=None
        )
        c = result.counters
        if c["ok"] != len(rows):
            raise RuntimeError(f"{extractor.name}: only {c['ok']} of {len(rows)} clips embedded")
        per_extractor[extractor.name] = {
            "seconds": round(c["seconds"], 3),
            "decode_seconds": round(c["decode_seconds"], 3),
            "model_seconds": round(c["model_seconds"], 3),
            "clips_per_s": round(len(rows) / c["seconds"], 2),
        }
    seconds = time.perf_counter() - began
    cpu = _cpu_seconds() - cpu_before
    return {
        "clips": len(rows),
        "seconds": round(seconds, 3),
        "clips_per_s": round(len(rows) / seconds, 2),
        "cpu_seconds": round(cpu, 3),
        "clips_per_cpu_s": round(len(rows) / cpu, 2),
        "decode_seconds": round(sum(v["decode_seconds"] for v in per_extractor.values()), 3),
        "model_seconds": round(sum(v["model_seconds"] for v in per_extractor.values()), 3),
        "extractors": per_extractor,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_worker_rss_mib": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        ),
        "device": str(extractors[0].resolved_device),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=8, help="30 s videos (3 clips each)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads for the networks (workers decode)"
    )
    parser.add_argument("--workers", type=int, default=1, help="decoding worker processes")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--media-dir", default=None, help="reuse generated videos from here")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.media_dir or tempfile.mkdtemp(prefix="acav-bench-")
    os.makedirs(folder, exist_ok=True)
    paths = make_media(folder, args.videos)
    if args.measure:  # the child: its peak memory is the extraction's alone
        sys.stdout.write(json.dumps(_run(args, paths)) + "\n")
        return
    child = [sys.executable, __file__, *sys.argv[1:], "--measure", "--media-dir", folder]
    measured = subprocess.run(child, check=True, capture_output=True, text=True)
    sys.stderr.write(measured.stderr)
    figures = json.loads(measured.stdout.strip().splitlines()[-1])
    figures |= {
        "benchmark": "extraction",
        "extractors_used": ["soundnet8", "mobilenet_v2"],
        "resolution": "640x360",
        "window_s": WINDOW,
        "threads": args.threads,
        "workers": args.workers,
        "batch_size": args.batch_size,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
