"""Recall of the shot detection on generated videos with known cuts, per picture family.

Renders ``--videos`` videos over all sixteen picture families (30-40 s, three scenes each, so
two hard cuts a video at known times), decodes each once the way ``find_shots`` does (scdet
scores and 64x36 thumbnails at 4 fps) and scores, on the same decode, each rule for where
the cuts are:

- ``shipped``: the threshold raised from 10 (x1.2) until three shots of 10 s appear;
- ``scdet >= 10``: every frame scoring at least the starting threshold;
- ``scdet peaks``: a candidate threshold rule, scores >= 6 and >= 2x the video's median
  score that are the highest within 1 s;
- ``frame difference``: a candidate second detector, thumbnails that differ from the one
  before by >= 4x the video's median difference (and >= 0.06), at a local peak;

A true cut is found when a detected cut lies within 0.5 s (two sampled frames). Prints one
JSON line (recall and precision per rule, overall and per family); the rest on stderr.

    nice -n 10 .venv/bin/python benchmarks/shots.py --videos 64 --out /tmp/shots
    nice -n 10 .venv/bin/python benchmarks/shots.py --family c6-s50-shots-v240  # rendered
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from acav_assets.core.evaluation.corpus import generate_corpus, load_truth, plan_corpus
from acav_assets.core.evaluation.family import CORPUS_FOLDER, FAMILY
from acav_assets.core.media.shots import _decode_scores, choose_threshold, split_at_threshold

TOLERANCE_S = 0.5
SAMPLE_FPS, SIZE = 4.0, (64, 36)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def matched(truth: list[float], found: list[float]) -> tuple[int, int]:
    """True cuts with a detected cut within the tolerance, and detected cuts near a true one."""
    hits = sum(any(abs(t - f) <= TOLERANCE_S for f in found) for t in truth)
    right = sum(any(abs(t - f) <= TOLERANCE_S for t in truth) for f in found)
    return hits, right


def local_peaks(values: np.ndarray, half_width: int) -> np.ndarray:
    """Whether each value is the highest within ``half_width`` samples either side."""
    padded = np.pad(values, half_width, constant_values=-np.inf)
    window = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_width + 1)
    return values >= window.max(axis=1)


def rules(times: np.ndarray, scores: np.ndarray, frames: np.ndarray, duration: float) -> dict:
    """The cut times each rule finds in one decoded video."""
    _, shipped = choose_threshold(times, scores, duration, 10.0, min_shot_s=10.0, min_shots=3)
    base = [a for a, _ in split_at_threshold(times, scores, duration, 10.0)[1:]]
    half = int(SAMPLE_FPS)  # 1 s either side
    peaks = (scores >= 6) & (scores >= 2 * np.median(scores)) & local_peaks(scores, half)
    change = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3)) / 255.0
    change = np.concatenate([[0.0], change])
    jumps = (change >= max(4 * float(np.median(change)), 0.06)) & local_peaks(change, 1)
    return {
        "shipped": [a for a, _ in shipped[1:]],
        "scdet >= 10": base,
        "scdet peaks": [float(t) for t in times[peaks & (times > 0)]],
        "frame difference": [float(t) for t in times[jumps & (times > 0)]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=64)
    parser.add_argument("--classes", type=int, default=16)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path("/tmp/acav-shots"))
    parser.add_argument(
        "--family",
        nargs="*",
        default=[],
        help="score these corpora of the evaluation family instead (already rendered "
        "under --data; their plans say where the cuts are)",
    )
    parser.add_argument("--data", type=Path, default=Path("/work/data"))
    args = parser.parse_args()
    tick = time.perf_counter()
    if args.family:
        specs = {spec.name: spec for spec in FAMILY}
        corpora = [(args.data / "family" / n / CORPUS_FOLDER, specs[n]) for n in args.family]
        jobs = [
            (folder, plan)
            for folder, s in corpora
            for plan in plan_corpus(s.n_videos, s.n_classes, s.swap_fraction, s.min_seconds,
                                    s.max_seconds, s.seed, 320, 180, 10, s.rule)
        ]  # fmt: skip
    else:
        generate_corpus(
            args.out,
            n_videos=args.videos,
            n_classes=args.classes,
            swap_fraction=0.0,
            min_seconds=30.0,
            max_seconds=40.0,
            seed=args.seed,
            progress=lambda d, t: log(f"render {d}/{t}") if d % 16 == 0 else None,
        )
        plans = plan_corpus(args.videos, args.classes, 0.0, 30.0, 40.0, args.seed, 320, 180, 10)
        jobs = [(args.out, plan) for plan in plans]
    render_s = time.perf_counter() - tick
    family = {}
    for folder in dict.fromkeys(folder for folder, _ in jobs):
        truth = load_truth(folder)
        family.update(zip(truth["video_id"], truth["visual_family"], strict=True))
    counts: dict[str, dict[str, list[int]]] = {}
    tick = time.perf_counter()
    for done, (folder, plan) in enumerate(jobs):
        path = str(folder / "videos" / f"{plan.video_id}.mp4")
        cuts = list(np.cumsum(plan.segments)[:-1])
        times, scores, frames = _decode_scores(path, SAMPLE_FPS, SIZE, True, 600.0)
        for rule, found in rules(times, scores, frames, plan.duration_s).items():
            hits, right = matched(cuts, found)
            for key in ("all", family[plan.video_id]):
                row = counts.setdefault(rule, {}).setdefault(key, [0, 0, 0, 0])
                row[0] += hits
                row[1] += len(cuts)
                row[2] += right
                row[3] += len(found)
        if (done + 1) % 16 == 0:
            log(f"decoded {done + 1}/{len(jobs)}")
    scored = {
        rule: {
            key: {
                "recall": round(h / max(n, 1), 4),
                "precision": round(r / max(f, 1), 4),
                "cuts": n,
                "found": f,
            }  # fmt: skip
            for key, (h, n, r, f) in by_key.items()
        }
        for rule, by_key in counts.items()
    }
    for rule, by_key in scored.items():
        low = sorted((v["recall"], k) for k, v in by_key.items() if k != "all")[:3]
        log(f"{rule}: recall {by_key['all']['recall']:.3f}, precision "
            f"{by_key['all']['precision']:.3f}; lowest families {low}")  # fmt: skip
    print(json.dumps({
        "benchmark": "shots", "videos": len(jobs), "classes": args.classes,
        "family": args.family,
        "tolerance_s": TOLERANCE_S, "rules": scored, "render_seconds": round(render_s, 1),
        "decode_seconds": round(time.perf_counter() - tick, 1),
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
