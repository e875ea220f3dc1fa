"""The controlled correspondence corpus: license-clean videos with known audio-visual truth.

Each video belongs to a class, a visual family and a sound family (``families.py``); a given
fraction of the videos get the sound of another class, so their audio and visual channels do
not correspond. Videos are real H.264 + AAC mp4 files rendered by ffmpeg from lavfi sources,
several segments (scene changes) a video, small and at a low frame rate so a demo corpus of
150 videos renders in about a minute on 2 cores. Truth is per video: a clip inherits the
truth of its video.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from acav_assets.core.evaluation.families import MAX_CLASSES, SOUND_FAMILIES, VISUAL_FAMILIES

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.csv"
TRUTH_NAME = "truth.csv"
PLAN_NAME = ".plan-sha256"  # beside the videos: which plan rendered them
AUDIO_RATE = 22_050
TRUTH_COLUMNS = (
    "video_id",
    "file",
    "path",
    "visual_class",
    "audio_class",
    "swapped",
    "visual_family",
    "sound_family",
    "duration_s",
    "n_segments",
)


# How a visual class's true sound is chosen. "classes": class c shows picture family c and
# sounds like sound family c. "xor": class c shows picture family c // 2, negated (colours
# inverted) when c is odd, and sounds like sound family (c // 2 + c % 2) mod (classes / 2):
# the sound follows an interaction of two picture traits (pattern and negation), which a
# function linear in features that add up the two traits cannot follow.
RULES = ("classes", "xor")


def true_sound(visual_class: int, n_classes: int, rule: str) -> int:
    """The sound family a video of ``visual_class`` has when it is not swapped."""
    if rule == "classes":
        return visual_class
    return (visual_class // 2 + visual_class % 2) % (n_classes // 2)


def visual_family_name(visual_class: int, rule: str) -> str:
    """The picture family of a class, with the negation trait under the xor rule."""
    if rule == "classes":
        return VISUAL_FAMILIES[visual_class].name
    name = VISUAL_FAMILIES[visual_class // 2].name
    return f"{name}+negate" if visual_class % 2 else name


@dataclass(frozen=True)
class VideoPlan:
    """What one video will show and sound like; drawn before rendering, so the corpus
    depends on the seed only, never on the order parallel renders finish in."""

    video_id: str
    visual_class: int
    audio_class: int
    segments: tuple[float, ...]
    visual_chains: tuple[str, ...]
    audio_chains: tuple[str, ...]
    swapped: bool

    @property
    def duration_s(self) -> float:
        return float(sum(self.segments))


@dataclass(frozen=True)
class CorpusInfo:
    """Where the corpus is and what it holds."""

    root: Path
    manifest_path: Path
    truth_path: Path
    n_videos: int
    n_classes: int
    n_swapped: int
    media_seconds: float
    wall_seconds: float


def plan_corpus(
    n_videos: int,
    n_classes: int,
    swap_fraction: float,
    min_seconds: float,
    max_seconds: float,
    seed: int,
    width: int,
    height: int,
    fps: int,
    rule: str = "classes",
) -> list[VideoPlan]:
    """Draw classes, swaps, durations, segments and family parameters for every video."""
    if rule not in RULES:
        raise ValueError(f"rule={rule!r}: use one of {RULES}")
    if rule == "xor" and not (n_classes % 2 == 0 and 4 <= n_classes <= 2 * MAX_CLASSES):
        raise ValueError(f"rule='xor' needs an even n_classes in 4..{2 * MAX_CLASSES}")
    if rule == "classes" and not 2 <= n_classes <= MAX_CLASSES:
        raise ValueError(f"n_classes={n_classes} must be between 2 and {MAX_CLASSES}")
    if n_videos < 1:
        raise ValueError(f"n_videos={n_videos} must be at least 1")
    if not 0.0 <= swap_fraction <= 1.0:
        raise ValueError(f"swap_fraction={swap_fraction} must be within [0, 1]")
    if not 0 < min_seconds <= max_seconds:
        raise ValueError(f"need 0 < min_seconds={min_seconds} <= max_seconds={max_seconds}")
    if width < 16 or height < 16 or width % 4 or height % 4:
        raise ValueError(f"width={width}, height={height}: need multiples of 4, at least 16")
    if fps < 1:
        raise ValueError(f"fps={fps} must be at least 1")
    rng = np.random.default_rng(seed)
    visual = rng.permutation(np.arange(n_videos) % n_classes)
    swapped = np.zeros(n_videos, dtype=bool)
    swapped[rng.choice(n_videos, size=round(swap_fraction * n_videos), replace=False)] = True
    n_sounds = n_classes if rule == "classes" else n_classes // 2
    plans = []
    for i in range(n_videos):
        v = int(visual[i])
        a = true_sound(v, n_classes, rule)
        if swapped[i]:
            a = int((a + rng.integers(1, n_sounds)) % n_sounds)
        picture = VISUAL_FAMILIES[v if rule == "classes" else v // 2]
        negate = ",negate" if rule == "xor" and v % 2 else ""
        duration = float(rng.uniform(min_seconds, max_seconds))
        n_seg = max(2, min(5, int(duration // 10)))
        weights = rng.uniform(0.8, 1.2, size=n_seg)
        segments = tuple(float(s) for s in np.round(duration * weights / weights.sum(), 2))
        seeds = rng.integers(0, 2**31 - 1, size=(n_seg, 2))
        plans.append(
            VideoPlan(
                video_id=f"demo{i:05d}",
                visual_class=v,
                audio_class=a,
                segments=segments,
                visual_chains=tuple(
                    picture.chain(rng, width, height, fps, int(s[0])) + negate for s in seeds
                ),
                audio_chains=tuple(
                    SOUND_FAMILIES[a].chain(rng, 0, 0, AUDIO_RATE, int(s[1])) for s in seeds
                ),
                swapped=bool(swapped[i]),
            )
        )
    return plans


def ffmpeg_command(plan: VideoPlan, out_path: Path, width: int, height: int, fps: int) -> list[str]:
    """One ffmpeg call that renders and concatenates every segment of ``plan``."""
    parts, pads = [], []
    for i, (seconds, vchain, achain) in enumerate(
        zip(plan.segments, plan.visual_chains, plan.audio_chains, strict=True)
    ):
        parts.append(
            f"{vchain},trim=duration={seconds},setpts=PTS-STARTPTS,scale={width}:{height},"
            f"setsar=1,fps={fps},format=yuv420p[v{i}]"
        )
        parts.append(
            f"{achain},atrim=duration={seconds},asetpts=PTS-STARTPTS,"
            f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=mono,"
            f"alimiter=limit=0.9[a{i}]"
        )
        pads.append(f"[v{i}][a{i}]")
    parts.append(f"{''.join(pads)}concat=n={len(pads)}:v=1:a=1[v][a]")
    return [
        "ffmpeg", "-nostdin", "-v", "error", "-y",
        "-filter_complex", ";".join(parts),
        "-map", "[v]", "-map", "[a]",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "26", "-g", str(2 * fps),
        "-threads", "1", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "48k", "-ac", "1", "-ar", str(AUDIO_RATE),
        "-movflags", "+faststart", "-f", "mp4", str(out_path),
    ]  # fmt: skip


def render_video(plan: VideoPlan, out_path: Path, width: int, height: int, fps: int) -> None:
    """Render one video to a temporary name, then rename: no partial file is ever visible."""
    tmp = out_path.with_name(f".{out_path.name}.part")
    cmd = ffmpeg_command(plan, tmp, width, height, fps)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(
            f"ffmpeg failed for {plan.video_id} (exit {result.returncode}): "
            f"{result.stderr.strip()[-800:]}"
        )
    os.replace(tmp, out_path)


def generate_corpus(
    out_dir: str | os.PathLike[str],
    *,
    n_videos: int = 150,
    n_classes: int = 10,
    swap_fraction: float = 0.5,
    min_seconds: float = 30.0,
    max_seconds: float = 60.0,
    seed: int = 0,
    width: int = 320,
    height: int = 180,
    fps: int = 10,
    n_jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    rule: str = "classes",
) -> CorpusInfo:
    """Render the corpus into ``out_dir`` with ``manifest.csv`` (column ``path``) and
    ``truth.csv`` beside the videos; ``progress(done, total)`` is called after each video.

    ``rule`` (RULES) says which sound a class has when it is not swapped.
    ``n_jobs`` parallel ffmpeg processes (default: the number of CPUs), one thread each.
    A video rendered by an earlier run of the same plan is kept (each file appears whole or
    not at all), so an interrupted run resumes where it stopped; a different plan renders
    every video again.
    """
    start = time.perf_counter()
    plans = plan_corpus(
        n_videos, n_classes, swap_fraction, min_seconds, max_seconds, seed, width, height, fps,
        rule,
    )  # fmt: skip
    root = Path(out_dir).resolve()
    video_dir = root / "videos"
    video_dir.mkdir(parents=True, exist_ok=True)
    paths = [video_dir / f"{plan.video_id}.mp4" for plan in plans]
    reuse = _same_plan(video_dir, plans, width, height, fps)
    jobs = max(1, n_jobs or os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [
            pool.submit(render_video, plan, path, width, height, fps)
            for plan, path in zip(plans, paths, strict=True)
            if not (reuse and path.is_file())
        ]
        done = len(plans) - len(futures)
        try:
            for future in as_completed(futures):
                future.result()
                done += 1
                if progress is not None:
                    progress(done, len(plans))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    manifest_path, truth_path = root / MANIFEST_NAME, root / TRUTH_NAME
    write_csv(manifest_path, ["path"], [[str(p)] for p in paths])
    write_csv(
        truth_path,
        list(TRUTH_COLUMNS),
        [
            [
                plan.video_id,
                path.name,
                str(path),
                plan.visual_class,
                plan.audio_class,
                str(plan.swapped).lower(),
                visual_family_name(plan.visual_class, rule),
                SOUND_FAMILIES[plan.audio_class].name,
                f"{plan.duration_s:.2f}",
                len(plan.segments),
            ]
            for plan, path in zip(plans, paths, strict=True)
        ],  # fmt: skip
    )
    wall = time.perf_counter() - start
    info = CorpusInfo(
        root=root,
        manifest_path=manifest_path,
        truth_path=truth_path,
        n_videos=len(plans),
        n_classes=n_classes,
        n_swapped=sum(plan.swapped for plan in plans),
        media_seconds=sum(plan.duration_s for plan in plans),
        wall_seconds=wall,
    )
    logger.info("rendered %d videos (%.0f s of media) in %.1f s", info.n_videos,
                info.media_seconds, wall)  # fmt: skip
    return info


def _same_plan(
    video_dir: Path, plans: Sequence[VideoPlan], width: int, height: int, fps: int
) -> bool:
    """Whether ``video_dir`` was rendered from this very plan. If not, its videos of these
    names are removed before the new plan is recorded, so none is ever taken for another's."""
    digest = hashlib.sha256()
    for plan in plans:
        command = ffmpeg_command(plan, Path(f"{plan.video_id}.mp4"), width, height, fps)
        digest.update("\0".join(command).encode())
    marker = video_dir / PLAN_NAME
    same = marker.is_file() and marker.read_text(encoding="utf-8") == digest.hexdigest()
    if not same:
        for plan in plans:
            (video_dir / f"{plan.video_id}.mp4").unlink(missing_ok=True)
        marker.write_text(digest.hexdigest(), encoding="utf-8")
    return same


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    """Write a CSV file under a temporary name, then rename it into place."""
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(tmp, path)


def load_truth(corpus_dir: str | os.PathLike[str]) -> pl.DataFrame:
    """Read ``truth.csv`` of a corpus; ``corresponds`` is True where audio and visual match."""
    path = Path(corpus_dir) / TRUTH_NAME
    if not path.is_file():
        raise ValueError(f"no {TRUTH_NAME} in corpus directory {str(corpus_dir)!r}")
    types = {"swapped": pl.Boolean, "video_id": pl.String, "path": pl.String,
             "file": pl.String, "visual_class": pl.Int64, "audio_class": pl.Int64}  # fmt: skip
    try:
        truth = pl.read_csv(path, schema_overrides=types)
    except pl.exceptions.PolarsError as exc:
        raise ValueError(f"{path} is not a truth table: {str(exc).splitlines()[0]}") from exc
    missing = sorted(set(TRUTH_COLUMNS) - set(truth.columns))
    if missing:
        raise ValueError(f"{path} lacks columns {missing}")
    empty = [c for c in types if truth[c].null_count()]
    if empty:
        raise ValueError(f"{path} has empty cells in {empty}: every video needs its classes")
    twice = truth.filter(pl.col("path").is_duplicated())["path"]
    if len(twice):
        raise ValueError(f"{path} names video {twice[0]!r} more than once")
    return truth.with_columns(corresponds=~pl.col("swapped"))


def clip_truth(video_paths: Sequence[str], truth: pl.DataFrame) -> np.ndarray:
    """Truth for each clip from the path of its video: bool ``(n_clips,)``, True where audio
    and visual correspond."""
    return truth["corresponds"].to_numpy()[clip_rows(video_paths, truth)]


def clip_rows(video_paths: Sequence[str], truth: pl.DataFrame) -> np.ndarray:
    """The row of ``truth`` that holds each clip's video (matched on the path, else on the
    resolved path, else on the file name): int64 ``(n_clips,)``, to index any column with."""
    by_path = {p: i for i, p in enumerate(truth["path"].to_list())}
    by_name = {f: i for i, f in enumerate(truth["file"].to_list())}
    out = np.empty(len(video_paths), dtype=np.int64)
    for n, raw in enumerate(video_paths):
        path = str(raw)
        row = by_path.get(path)
        if row is None:
            row = by_path.get(str(Path(path).resolve()), by_name.get(Path(path).name))
        if row is None:
            raise ValueError(f"video {path!r} is not in the corpus truth")
        out[n] = row
    return out
