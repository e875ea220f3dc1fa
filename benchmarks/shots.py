"""Shot detection on generated videos with known cuts, per picture family: how many cuts
each rule finds, and how good the clip windows it leads to are.

Renders ``--videos`` videos over all sixteen picture families (30-40 s, three scenes each, so
two hard cuts a video at known times), decodes each once the way ``find_shots`` does (scdet
scores and 64x36 thumbnails at 4 fps) and scores, on the same decode, each rule for where
the cuts are:

- ``acav100m``: the absolute scdet threshold raised from 10 (x1.2, at most 100) until three
  shots of 10 s appear, the last one tried (the paper's rule, shipped before);
- ``shipped``: what ``find_shots`` does, cut strength (``shots.cut_strength``) raised from 1
  (x1.2, at most 10), the lowest threshold with the most 10 s shots;
- ``scdet >= 10``: every frame scoring at least 10;
- ``scdet peaks``: scores >= 6 and >= 2x the video's median score, highest within 1 s;
- ``truth``: the true cuts (for the windows only: the best any rule can do).

A true cut is found when a detected cut lies within 0.5 s (two sampled frames). The windows
are ``shot_windows`` of the rule's shots (three 10 s windows at most); a window is clean when
no true cut lies more than 0.5 s inside it, so the clip shows one scene and its sound. Prints
one JSON line (recall and precision per rule, overall and per family, and the windows per
video, clean share and clean windows per video); the rest on stderr.

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
from acav_assets.core.media.clips import shot_windows
from acav_assets.core.media.shots import (
    Shot,
    _decode_scores,
    _signatures,
    choose_threshold,
    cut_strength,
    local_peaks,
    spans_between,
    split_at_threshold,
)

TOLERANCE_S = 0.5
SAMPLE_FPS, SIZE = 4.0, (64, 36)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def matched(truth: list[float], found: list[float]) -> tuple[int, int]:
    """True cuts with a detected cut within the tolerance, and detected cuts near a true one."""
    hits = sum(any(abs(t - f) <= TOLERANCE_S for f in found) for t in truth)
    right = sum(any(abs(t - f) <= TOLERANCE_S for t in truth) for f in found)
    return hits, right


def acav100m_rule(times: np.ndarray, scores: np.ndarray, duration: float) -> list:
    """The threshold raised from 10 until three 10 s shots appear, or 100: the last shots."""
    threshold = 10.0
    while True:
        shots = split_at_threshold(times, scores, duration, threshold)
        if sum(b - a >= 10.0 for a, b in shots) >= 3 or threshold >= 100.0:
            return shots
        threshold = min(threshold * 1.2, 100.0)


def rules(times: np.ndarray, scores: np.ndarray, duration: float, truth: list[float]) -> dict:
    """The shots each rule finds in one decoded video."""
    _, shipped = choose_threshold(times, cut_strength(scores, SAMPLE_FPS), duration)
    half = int(SAMPLE_FPS)  # 1 s either side
    peaks = (scores >= 6) & (scores >= 2 * np.median(scores)) & local_peaks(scores, half)
    return {
        "acav100m": acav100m_rule(times, scores, duration),
        "shipped": shipped,
        "scdet >= 10": split_at_threshold(times, scores, duration, 10.0),
        "scdet peaks": spans_between([float(t) for t in times[peaks & (times > 0)]], duration),
        "truth": spans_between(truth, duration),
    }


def windows_of(spans: list, times: np.ndarray, frames: np.ndarray, duration: float) -> list:
    signatures = _signatures(frames, times, spans)
    shots = [Shot(a, b, g) for (a, b), g in zip(spans, signatures, strict=True)]
    return shot_windows(shots, duration, 3, 10.0)


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
    windows: dict[str, list[int]] = {}
    tick = time.perf_counter()
    for done, (folder, plan) in enumerate(jobs):
        path = str(folder / "videos" / f"{plan.video_id}.mp4")
        cuts = [float(c) for c in np.cumsum(plan.segments)[:-1]]
        times, scores, frames = _decode_scores(path, SAMPLE_FPS, SIZE, True, 600.0)
        for rule, spans in rules(times, scores, plan.duration_s, cuts).items():
            found = [a for a, _ in spans[1:]]
            hits, right = matched(cuts, found)
            for key in ("all", family[plan.video_id]):
                row = counts.setdefault(rule, {}).setdefault(key, [0, 0, 0, 0])
                row[0] += hits
                row[1] += len(cuts)
                row[2] += right
                row[3] += len(found)
            chosen = windows_of(spans, times, frames, plan.duration_s)
            clean = sum(
                not any(w.start_s + TOLERANCE_S < c < w.end_s - TOLERANCE_S for c in cuts)
                for w in chosen
            )
            tally = windows.setdefault(rule, [0, 0])
            tally[0] += len(chosen)
            tally[1] += clean
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
        if rule != "truth"
    }
    window_scores = {
        rule: {
            "windows_per_video": round(n / len(jobs), 3),
            "clean_share": round(c / max(n, 1), 4),
            "clean_per_video": round(c / len(jobs), 3),
        }
        for rule, (n, c) in windows.items()
    }
    for rule, by_key in scored.items():
        low = sorted((v["recall"], k) for k, v in by_key.items() if k != "all")[:3]
        log(f"{rule}: recall {by_key['all']['recall']:.3f}, precision "
            f"{by_key['all']['precision']:.3f}; lowest families {low}")  # fmt: skip
    for rule, row in window_scores.items():
        log(f"{rule} windows: {row}")
    print(json.dumps({
        "benchmark": "shots", "videos": len(jobs), "classes": args.classes,
        "family": args.family,
        "tolerance_s": TOLERANCE_S, "rules": scored, "windows": window_scores,
        "render_seconds": round(render_s, 1),
        "decode_seconds": round(time.perf_counter() - tick, 1),
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
