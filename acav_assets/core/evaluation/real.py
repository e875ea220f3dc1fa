"""A correspondence corpus of real footage and real sounds, from Debian packages.

Why: generated corpora are what acav's defaults could have been tuned on; real camera
footage, photographs and recorded sounds are not. Each class pairs a visual source (a
documentation example video, or a set of photographs panned like a camera would) with a pool
of recorded sounds (spoken prompts, a drum machine, instrument notes, creatures); a video
shows three scenes of its class and sounds like its class, or like another class when its
audio is swapped. Only packages under free licences are used (``PACKAGES`` names each one and
its licence as its copyright file states it); they are fetched with ``apt-get download`` and
unpacked with ``dpkg -x`` into a cache, never installed.
"""

from __future__ import annotations

import glob
import logging
import os
import subprocess
import tempfile
import wave
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from acav_assets.core.evaluation.corpus import (
    AUDIO_RATE,
    MANIFEST_NAME,
    PLAN_NAME,
    TRUTH_COLUMNS,
    TRUTH_NAME,
    write_csv,
)

log = logging.getLogger(__name__)

# package -> licence of the files used, as the package's copyright file states it
PACKAGES = {
    "opencv-doc": "Apache-2.0 AND BSD-3-Clause (samples/data)",
    "python-kivy-examples": "Expat",
    "sound-icons": "GPL-2+",
    "asterisk-core-sounds-en-wav": "CC-BY-SA-3.0",
}
_CV = "opencv-doc/usr/share/doc/opencv-doc/examples/data"
_KIVY = "python-kivy-examples/usr/share/kivy-examples"
_ICONS = "sound-icons/usr/share/sounds/sound-icons"
_SPEECH = "asterisk-core-sounds-en-wav/usr/share/asterisk/sounds/en_US_f_Allison"
FOOTAGE_SUFFIXES = (".avi", ".mpg", ".mp4")


@dataclass(frozen=True)
class RealClass:
    """A visual source and a sound pool; patterns are globs under the unpacked packages."""

    name: str
    visual: tuple[str, ...]
    sounds: tuple[str, ...]
    gap_s: tuple[float, float]  # silence between two sounds


CLASSES: tuple[RealClass, ...] = (
    RealClass("street_speech", (f"{_CV}/vtest.avi",), (f"{_SPEECH}/*.wav",), (0.2, 0.8)),
    RealClass("tree_drums", (f"{_CV}/tree.avi",), (f"{_KIVY}/audio/*.wav",), (0.05, 0.3)),
    RealClass(
        "city_keys",
        (f"{_KIVY}/widgets/cityCC0.mpg",),
        tuple(
            f"{_ICONS}/{p}.wav"
            for p in (
                "cembalo-*",
                "klavichord-*",
                "piano-*",
                "electric-piano-*",
                "guitar-*",
                "chord-*",
            )
        ),
        (0.1, 0.5),
    ),  # fmt: skip
    RealClass(
        "chessboard_percussion",
        (f"{_CV}/left[01]*.jpg", f"{_CV}/right[01]*.jpg"),
        (f"{_ICONS}/percussion-*.wav", f"{_ICONS}/cymbaly-*.wav", f"{_ICONS}/xylofon.wav"),
        (0.1, 0.6),
    ),
    RealClass(
        "buildings_brass",
        tuple(
            f"{_CV}/{p}"
            for p in ("building.jpg", "home.jpg", "leuven[AB].jpg", "aero[13].jpg", "graf[13].png")
        ),
        (f"{_ICONS}/trumpet-*.wav", f"{_ICONS}/violoncello-*.wav"),
        (0.1, 0.6),
    ),  # fmt: skip
    RealClass(
        "nature_creatures",
        tuple(
            f"{_CV}/{p}"
            for p in (
                "fruits.jpg",
                "apple.jpg",
                "orange.jpg",
                "baboon.jpg",
                "butterfly.jpg",
                "squirrel_cls.jpg",
                "HappyFish.jpg",
                "starry_night.jpg",
            )
        ),
        tuple(
            f"{_ICONS}/{p}.wav"
            for p in ("canary-*", "cockchafer-*", "gummy-cat-*", "pisk-*", "glass-water-*")
        ),
        (0.1, 0.7),
    ),  # fmt: skip
)


def unpack_packages(cache: str | os.PathLike[str], packages: tuple[str, ...] = tuple(PACKAGES)):
    """Download and unpack each package into ``cache/unpacked/<package>`` once; returns
    ``cache/unpacked``. A package is done when its ``.done`` marker is there."""
    cache = Path(cache).resolve()
    debs, unpacked = cache / "debs", cache / "unpacked"
    debs.mkdir(parents=True, exist_ok=True)
    for package in packages:
        target = unpacked / package
        if (target / ".done").is_file():
            continue
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            _run(["apt-get", "download", package], cwd=debs)
            found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            raise RuntimeError(f"apt-get download {package} left no .deb in {debs}")
        target.mkdir(parents=True, exist_ok=True)
        _run(["dpkg", "-x", str(found[-1]), str(target)])
        (target / ".done").write_text(found[-1].name, encoding="utf-8")
    return unpacked


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result.stderr.strip()[-600:]}")


def _expand(tree: Path, patterns: tuple[str, ...], what: str) -> list[str]:
    files = sorted({f for p in patterns for f in glob.glob(str(tree / p))})
    if not files:
        raise ValueError(f"no {what} matches {patterns} under {tree}")
    return files


def read_sound(path: str) -> np.ndarray:
    """A sound file as float32 mono at ``AUDIO_RATE``: 16-bit PCM WAV read here (hundreds of
    short prompts would cost a process each), anything else decoded by ffmpeg."""
    try:
        with wave.open(path, "rb") as handle:
            if handle.getsampwidth() == 2:
                rate, channels = handle.getframerate(), handle.getnchannels()
                pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
                mono = pcm.reshape(-1, channels).mean(axis=1) / 32768.0
                times = np.arange(int(mono.size * AUDIO_RATE / rate)) * (rate / AUDIO_RATE)
                return np.interp(times, np.arange(mono.size), mono).astype(np.float32)
    except (wave.Error, EOFError):
        pass  # not plain PCM WAV: ffmpeg reads it
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "f32le", "-ac", "1",
           "-ar", str(AUDIO_RATE), "-"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg could not decode {path}: {result.stderr[-400:]!r}")
    return np.frombuffer(result.stdout, dtype=np.float32)


def compose_soundtrack(
    pool: list[np.ndarray], seconds: float, gap_s: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """Sounds drawn from ``pool`` one after another, each resampled by 0.85-1.18 (pitch and
    speed, like another take) at a random gain, with a random silence between them."""
    out = np.zeros(int(seconds * AUDIO_RATE), dtype=np.float32)
    t = int(rng.uniform(0, 0.3) * AUDIO_RATE)
    while t < out.size:
        sound = pool[int(rng.integers(0, len(pool)))]
        stretch = float(rng.uniform(0.85, 1.18))
        length = max(1, int(sound.size / stretch))
        take = np.interp(np.arange(length) * stretch, np.arange(sound.size), sound)
        end = min(out.size, t + length)
        out[t:end] += float(rng.uniform(0.5, 1.0)) * take[: end - t].astype(np.float32)
        t = end + int(rng.uniform(*gap_s) * AUDIO_RATE)
    peak = float(np.abs(out).max())
    return out * (0.9 / peak) if peak > 0 else out


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(AUDIO_RATE)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def _probe_seconds(path: str) -> float:
    cmd = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path]
    return float(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def _source(path: str, stills: Path, width: int, height: int) -> tuple[str, float]:
    """A footage file and its length, or a photograph shrunk once to cover ``width`` x
    ``height`` (panning decodes the still every frame: a large one costs seconds a video)."""
    if path.endswith(FOOTAGE_SUFFIXES):
        return path, _probe_seconds(path)
    small = stills / f"{Path(path).stem}.png"
    if not small.is_file():
        part = small.with_name(f".{small.name}.part.png")
        cover = f"scale={width}:{height}:force_original_aspect_ratio=increase"
        _run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", path, "-vf", cover, str(part)])
        os.replace(part, small)
    return str(small), 0.0


def scene_command(
    sources: list[tuple[str, float]],
    segments: list[float],
    rng: np.random.Generator,
    audio_path: Path,
    out_path: Path,
    width: int,
    height: int,
    fps: int,
) -> list[str]:
    """ffmpeg call for one video: each segment a random crop of a footage source from a
    random start (looped), or a photograph panned across; the soundtrack from ``audio_path``."""
    inputs, parts, pads = [], [], []
    for i, seconds in enumerate(segments):
        path, length = sources[int(rng.integers(0, len(sources)))]
        if path.endswith(FOOTAGE_SUFFIXES):
            start = float(rng.uniform(0, max(length - 1.0, 0.0)))
            inputs += ["-ss", f"{start:.2f}", "-stream_loop", "-1", "-t", f"{seconds + 1}",
                       "-i", path]  # fmt: skip
            c, px, py = rng.uniform(0.6, 1.0), rng.uniform(0, 1), rng.uniform(0, 1)
            flip = ",hflip" if rng.random() < 0.5 else ""
            view = f"crop=iw*{c:.2f}:ih*{c:.2f}:(iw-iw*{c:.2f})*{px:.2f}:(ih-ih*{c:.2f})*{py:.2f}"
            view += f"{flip},scale={width}:{height}:force_original_aspect_ratio=increase"
        else:
            inputs += ["-loop", "1", "-framerate", str(fps), "-t", f"{seconds}", "-i", path]
            zoom, a, b = rng.uniform(1.3, 2.0), rng.uniform(0.1, 0.4), rng.uniform(0.1, 0.4)
            # the still covers twice the frame: zoom 1.3-2.0 keeps it sharp
            view = (
                f"scale={int(width * zoom)}:{int(height * zoom)}:force_original_aspect_ratio="
                f"increase,crop={width}:{height}:x='(iw-{width})*(0.5+0.5*sin({a:.2f}*t+"
                f"{rng.uniform(0, 6.28):.2f}))':y='(ih-{height})*(0.5+0.5*sin({b:.2f}*t+"
                f"{rng.uniform(0, 6.28):.2f}))'"
            )
        parts.append(
            f"[{i}:v]trim=duration={seconds},setpts=PTS-STARTPTS,{view},crop={width}:{height},"
            f"setsar=1,fps={fps},format=yuv420p[v{i}]"
        )
        pads.append(f"[v{i}]")
    parts.append(f"{''.join(pads)}concat=n={len(pads)}:v=1:a=0[v]")
    return [
        "ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-i", str(audio_path),
        "-filter_complex", ";".join(parts), "-map", "[v]", "-map", f"{len(segments)}:a",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "26", "-g", str(2 * fps),
        "-threads", "1", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-ac", "1",
        "-ar", str(AUDIO_RATE), "-shortest", "-movflags", "+faststart", "-f", "mp4",
        str(out_path),
    ]  # fmt: skip


def _forget_other_plans(video_dir: Path, plan: str) -> None:
    """Remove the videos of an earlier run with other arguments, then record this plan."""
    marker = video_dir / PLAN_NAME
    if marker.is_file() and marker.read_text(encoding="utf-8") == plan:
        return
    for old in video_dir.glob("real*.mp4"):
        old.unlink()
    marker.write_text(plan, encoding="utf-8")


def generate_real_corpus(
    out_dir: str | os.PathLike[str],
    packages_dir: str | os.PathLike[str],
    *,
    n_videos: int = 240,
    swap_fraction: float = 0.5,
    min_seconds: float = 30.0,
    max_seconds: float = 40.0,
    seed: int = 0,
    width: int = 320,
    height: int = 180,
    fps: int = 10,
    n_jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Render the real corpus into ``out_dir`` (``videos/``, ``manifest.csv``, ``truth.csv``
    as ``generate_corpus`` writes them) from the packages unpacked in ``packages_dir``;
    videos an interrupted run of the same arguments rendered are kept."""
    if n_videos < len(CLASSES) or not 0.0 <= swap_fraction <= 1.0:
        raise ValueError(f"need n_videos >= {len(CLASSES)} and swap_fraction in [0, 1]")
    tree = Path(packages_dir)
    root = Path(out_dir).resolve()
    stills = root / "stills"
    stills.mkdir(parents=True, exist_ok=True)
    visual = [
        [_source(f, stills, 2 * width, 2 * height) for f in _expand(tree, c.visual, "picture")]
        for c in CLASSES
    ]
    pools = [[read_sound(f) for f in _expand(tree, c.sounds, "sound")] for c in CLASSES]
    n_classes = len(CLASSES)
    rng = np.random.default_rng(seed)
    classes = rng.permutation(np.arange(n_videos) % n_classes)
    swapped = np.zeros(n_videos, dtype=bool)
    swapped[rng.choice(n_videos, size=round(swap_fraction * n_videos), replace=False)] = True
    (root / "videos").mkdir(parents=True, exist_ok=True)
    _forget_other_plans(root / "videos", repr((n_videos, swap_fraction, min_seconds,
                        max_seconds, seed, width, height, fps, visual)))  # fmt: skip
    jobs, rows = [], []
    for i in range(n_videos):
        v = int(classes[i])
        a = int((v + rng.integers(1, n_classes)) % n_classes) if swapped[i] else v
        duration = float(rng.uniform(min_seconds, max_seconds))
        weights = rng.uniform(0.8, 1.2, size=3)
        segments = [round(float(s), 2) for s in duration * weights / weights.sum()]
        video_rng = np.random.default_rng(rng.integers(0, 2**63 - 1))
        path = root / "videos" / f"real{i:05d}.mp4"
        jobs.append((v, a, sum(segments), segments, video_rng, path))
        rows.append([path.stem, path.name, str(path), v, a, str(v != a).lower(),
                     CLASSES[v].name, CLASSES[a].name, f"{sum(segments):.2f}", 3])  # fmt: skip

    def render(job) -> None:
        v, a, seconds, segments, video_rng, path = job
        if path.is_file():
            return
        track = compose_soundtrack(pools[a], seconds + 0.5, CLASSES[a].gap_s, video_rng)
        with tempfile.TemporaryDirectory(prefix="acav-real-") as tmp:
            audio = Path(tmp) / "audio.wav"
            _write_wav(audio, track)
            part = path.with_name(f".{path.name}.part")
            cmd = scene_command(visual[v], segments, video_rng, audio, part, width, height, fps)
            _run(cmd)
            os.replace(part, path)

    done = 0
    with ThreadPoolExecutor(max_workers=max(1, n_jobs or os.cpu_count() or 1)) as pool:
        for _ in pool.map(render, jobs):
            done += 1
            if progress is not None:
                progress(done, n_videos)
    write_csv(root / MANIFEST_NAME, ["path"], [[row[2]] for row in rows])
    write_csv(root / TRUTH_NAME, list(TRUTH_COLUMNS), rows)
    log.info("rendered %d real-footage videos into %s", n_videos, root)
    return root
