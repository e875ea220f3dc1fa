"""Valid but odd files are not rejected: each file of a corpus of oddities that cameras,
phones and encoders really make is ingested and comes out with both embeddings, and ffmpeg
complaining while the tail decodes is not a truncation."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.features import embed_shards, get_extractor
from acav_assets.core.features.store import EmbeddingStore
from acav_assets.core.media import IngestOptions, ingest_shard, register_manifest
from acav_assets.core.media.probe import ProbeError, probe_video, verify_tail

pytestmark = pytest.mark.slow_io
SECONDS = 5
PATTERN = f"testsrc=size=160x120:rate=30:duration={SECONDS}"
TONE = f"sine=frequency=440:sample_rate=16000:duration={SECONDS}"
H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
CHAPTERS = """;FFMETADATA1
[CHAPTER]
TIMEBASE=1/1000
START=0
END=2500
title=One
[CHAPTER]
TIMEBASE=1/1000
START=2500
END=5000
title=Two
"""


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def _lavfi(*specs: str) -> list[str]:
    return [arg for spec in specs for arg in ("-f", "lavfi", "-i", spec)]


def _ffprobe(path: Path, entries: str, streams: str | None = None) -> str:
    select = ["-select_streams", streams] if streams else []
    done = subprocess.run(
        ["ffprobe", "-v", "error", *select, "-show_entries", entries, "-of", "compact", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def _variable_frame_rate(folder: Path) -> Path:
    """A phone's variable frame rate: two frames of three dropped for seconds 1.5-3.5, the
    header still saying 30 fps (the sampler once asked for frames past the last one)."""
    path = folder / "variable_frame_rate.mp4"
    keep = "select='not(between(t,1.5,3.5)*mod(n,3))'"
    _ffmpeg(*_lavfi(PATTERN, TONE), "-vf", keep, "-fps_mode", "vfr", *H264, "-c:a", "aac",
            str(path))  # fmt: skip
    assert "r_frame_rate=30/1" in _ffprobe(path, "stream=r_frame_rate", "v")
    return path


def _rotated(folder: Path) -> Path:
    """Portrait video as phones store it: landscape pixels and a display matrix."""
    plain, path = folder / "plain.mp4", folder / "rotated.mp4"
    _ffmpeg(*_lavfi(PATTERN, TONE), *H264, "-c:a", "aac", str(plain))
    _ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(path))
    plain.unlink()
    assert "rotation=90" in _ffprobe(path, "stream_side_data", "v")
    return path


def _six_channels(folder: Path) -> Path:
    path = folder / "six_channels_48k.mp4"
    tones = "|".join(f"0.3*sin({f}*2*PI*t)" for f in (220, 330, 440, 550, 110, 660))
    surround = f"aevalsrc={tones}:s=48000:d={SECONDS}:c=5.1"
    _ffmpeg(*_lavfi(PATTERN, surround), *H264, "-c:a", "aac", str(path))
    assert "sample_rate=48000|channels=6" in _ffprobe(path, "stream=sample_rate,channels", "a")
    return path


def _late_audio(folder: Path) -> Path:
    """Sound that starts 1.5 s after the picture (a camera's audio track lagging)."""
    path = folder / "late_audio.mp4"
    late = f"sine=frequency=440:sample_rate=16000:duration={SECONDS - 1.5}"
    _ffmpeg("-f", "lavfi", "-i", PATTERN, "-itsoffset", "1.5", "-f", "lavfi", "-i", late,
            *H264, "-c:a", "aac", str(path))  # fmt: skip
    start = _ffprobe(path, "stream=start_time", "a").split("start_time=")[1]
    assert float(start) > 1.0
    return path


def _vp9_opus(folder: Path) -> Path:
    path = folder / "vp9_opus.webm"
    _ffmpeg(*_lavfi(PATTERN, TONE), "-c:v", "libvpx-vp9", "-deadline", "realtime",
            "-cpu-used", "8", "-b:v", "200k", "-c:a", "libopus", str(path))  # fmt: skip
    return path


def _full_hd(folder: Path) -> Path:
    path = folder / "full_hd.mp4"
    hd = f"testsrc=size=1920x1080:rate=30:duration={SECONDS}"
    _ffmpeg(*_lavfi(hd, TONE), *H264, "-c:a", "aac", str(path))
    return path


def _chapters(folder: Path) -> Path:
    """Chapters as QuickTime writes them: a text track beside the picture and the sound."""
    metadata, path = folder / "chapters.txt", folder / "chapters.mp4"
    metadata.write_text(CHAPTERS)
    _ffmpeg(*_lavfi(PATTERN, TONE), "-i", str(metadata), "-map", "0", "-map", "1",
            "-map_chapters", "2", *H264, "-c:a", "aac", str(path))  # fmt: skip
    assert _ffprobe(path, "chapter=id").count("chapter") == 2
    return path


def _damaged_tail(folder: Path) -> Path:
    """Bytes flipped in the last second of an MPEG-TS: ffmpeg complains while decoding the
    tail, yet frames and samples come out, as from a camera's glitched recording."""
    path = folder / "damaged_tail.ts"
    _ffmpeg(*_lavfi(PATTERN, TONE), *H264, "-g", "300", "-c:a", "aac", "-f", "mpegts", str(path))
    data = bytearray(path.read_bytes())
    for offset in range(len(data) - 40_000, len(data) - 20_000, 997):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


ODDITIES = {
    "variable_frame_rate": _variable_frame_rate,
    "rotated": _rotated,
    "six_channels_48k": _six_channels,
    "late_audio": _late_audio,
    "vp9_opus": _vp9_opus,
    "full_hd": _full_hd,
    "chapters": _chapters,
    "damaged_tail": _damaged_tail,
}


@pytest.fixture(scope="module")
def oddities(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("oddities")
    return {name: make(folder) for name, make in ODDITIES.items()}


def test_ffmpeg_complaining_in_the_tail_is_not_a_truncation(oddities):
    path = oddities["damaged_tail"]
    complaints = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-sseof", "-1", "-i", str(path), "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    assert complaints.strip()  # ffmpeg says something is wrong ...
    verify_tail(path, probe_video(path))  # ... and the frames and samples still come out

    cut = path.with_name("cut.ts")
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    probe = probe_video(path)  # the whole file's probe: the cut half lacks its tail
    with pytest.raises(ProbeError, match="truncated or corrupt"):
        verify_tail(cut, probe)


def test_every_valid_oddity_is_ingested_and_comes_out_with_both_embeddings(
    storage, tmp_path, oddities
):
    tables = TableStore(storage)
    manifest = tmp_path / "oddities.txt"
    manifest.write_text("".join(f"{path}\n" for path in oddities.values()))
    (shard,) = register_manifest(manifest, tables)
    options = IngestOptions(
        allowed_roots=(str(next(iter(oddities.values())).parent),),
        min_duration_s=2.0,
        clip_seconds=2.0,
        clips_per_video=1,
        clip_strategy="middle",
    )
    ingest_shard(storage, tables, shard, options, run_id="r1", code_version="t")
    videos = {Path(row["path"]).stem if row["path"] else row: row for row in
              tables.read("videos", [shard]).to_dicts()}  # fmt: skip
    assert {name: (row["status"], row["reason"]) for name, row in videos.items()} == {
        name: ("ok", None) for name in ODDITIES
    }

    extractors = [get_extractor("soundnet8"), get_extractor("mobilenet_v2")]
    embed_shards(storage, extractors, shards=[shard], batch_size=4, num_workers=0)
    clips = tables.read("clips", [shard])
    named = dict(zip(clips["clip_id"], clips["video_id"], strict=True))
    video_names = {row["video_id"]: name for name, row in videos.items()}
    status = tables.read("embeddings", [shard])
    outcome = {
        (video_names[named[row["clip_id"]]], row["extractor"]): (row["status"], row["reason"])
        for row in status.iter_rows(named=True)
    }
    assert outcome == {
        (name, extractor.name): ("ok", None) for name in ODDITIES for extractor in extractors
    }
    store = EmbeddingStore(storage)
    for extractor in extractors:
        for layer in store.layers(extractor.name):
            ids, X = store.read(extractor.name, layer, [shard])
            assert sorted(ids) == sorted(named) and X.shape[0] == len(ODDITIES)
            assert (X == X).all()  # no NaN from an odd channel count or a rotated frame
