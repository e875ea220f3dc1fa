"""The export in the ACAV form, with WebDataset shards of cut clips and their embeddings."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from acav_assets.core.export import copy_export, export_subset
from acav_assets.core.storage import StorageRoot


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("media") / "v.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=10:d=6",
         "-f", "lavfi", "-i", "sine=f=440:d=6", "-shortest", "-c:v", "libx264", "-c:a", "aac",
         str(path)],
        check=True,
    )  # fmt: skip
    return str(path)


def _rows(video: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rank": [1, 0],
            "clip_id": ["v_3000", "v_0"],
            "video_id": ["v", "v"],
            "url": ["https://example.org/v", "https://example.org/v"],
            "start_s": [3.0, 0.0],
            "end_s": [5.0, 2.0],
            "media_path": [video, video],
            "media_start_s": [3.0, 0.0],
            "contribution": [0.4, 1.2],
        }
    )


def _duration(data: bytes, tmp: Path) -> float:
    clip = tmp / "clip.mp4"
    clip.write_bytes(data)
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
         str(clip)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout)


def test_export_writes_rank_ordered_csv_parquet_and_webdataset(
    storage: StorageRoot, video: str, tmp_path: Path
) -> None:
    vectors = {"v_0": {"audio_0": np.ones(3)}, "v_3000": {"audio_0": np.zeros(3)}}
    result = export_subset(
        storage, "mine", _rows(video), webdataset=True, embeddings=vectors.__getitem__
    )
    assert result.rows == 2
    csv = pl.read_csv(Path(result.folder) / "subset.csv")
    assert csv.columns == ["rank", "clip_id", "video_id", "url", "start_s", "end_s", "contribution"]
    assert csv["contribution"].to_list() == [1.2, 0.4]
    assert csv["clip_id"].to_list() == ["v_0", "v_3000"]
    assert pl.read_parquet(Path(result.folder) / "subset.parquet").equals(csv)
    (tar_path,) = [f for f in result.files if f.endswith(".tar")]
    with tarfile.open(tar_path) as tar:
        names = sorted(tar.getnames())
        assert names == sorted(
            f"{c}.{ext}" for c in ("v_0", "v_3000") for ext in ("mp4", "json", "embeddings.npz")
        )
        clip = tar.extractfile("v_3000.mp4").read()
        stored = np.load(io.BytesIO(tar.extractfile("v_0.embeddings.npz").read()))
    assert abs(_duration(clip, tmp_path) - 2.0) < 0.25
    assert stored["audio_0"].tolist() == [1.0, 1.0, 1.0]


def test_copy_export_brings_every_file_of_the_export_into_a_local_folder(
    storage: StorageRoot, video: str, tmp_path: Path
) -> None:
    export_subset(storage, "mine", _rows(video), webdataset=True, clips_per_shard=1)
    copies = copy_export(storage, "mine", str(tmp_path / "out"))
    names = sorted(str(Path(c).relative_to(tmp_path / "out")) for c in copies)
    assert names == ["subset.csv", "subset.parquet", "webdataset/shard-000000.tar",
                     "webdataset/shard-000001.tar"]  # fmt: skip
    assert (tmp_path / "out" / "subset.csv").read_bytes() == storage.read_bytes(
        storage.path("exports", "mine", "subset.csv")
    )


def test_export_names_missing_columns(storage: StorageRoot, video: str) -> None:
    with pytest.raises(ValueError, match="lack columns \\['media_path', 'media_start_s'\\]"):
        export_subset(storage, "x", _rows(video).drop("media_path", "media_start_s"),
                      webdataset=True)  # fmt: skip


def test_reexport_replaces_the_whole_export_leaving_no_stale_tar_shard(
    storage: StorageRoot, video: str
) -> None:
    rows = pl.concat([_rows(video)] * 3).with_columns(
        pl.int_range(0, 6).alias("rank"), (pl.col("clip_id") + pl.int_range(0, 6).cast(str))
    )
    first = export_subset(storage, "mine", rows, webdataset=True, clips_per_shard=1)
    assert sum(f.endswith(".tar") for f in first.files) == 6
    second = export_subset(storage, "mine", rows.head(2), webdataset=True, clips_per_shard=1)
    on_disk = sorted(p.name for p in Path(second.folder).rglob("*") if p.is_file())
    assert on_disk == ["shard-000000.tar", "shard-000001.tar", "subset.csv", "subset.parquet"]
    assert not [p for p in Path(second.folder).parent.iterdir() if p.name.startswith(".")]


def test_a_clip_that_fails_to_cut_is_a_failure_and_the_others_are_exported(
    storage: StorageRoot, video: str, tmp_path: Path
) -> None:
    rows = _rows(video)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 4096)
    rows = rows.with_columns(
        pl.when(pl.col("clip_id") == "v_0").then(pl.lit(str(broken))).otherwise("media_path")
        .alias("media_path")
    )  # fmt: skip
    result = export_subset(storage, "mine", rows, webdataset=True)
    assert [(f.clip_id, f.reason) for f in result.failures] == [("v_0", "decode_error")]
    (tar_path,) = [f for f in result.files if f.endswith(".tar")]
    with tarfile.open(tar_path) as tar:
        assert sorted(tar.getnames()) == ["v_3000.json", "v_3000.mp4"]
    assert pl.read_csv(Path(result.folder) / "subset.csv").height == 2


def test_a_failed_export_leaves_the_previous_one_whole(storage: StorageRoot, video: str) -> None:
    first = export_subset(storage, "mine", _rows(video), webdataset=True, clips_per_shard=1)
    before = {p: Path(p).read_bytes() for p in first.files}

    def embeddings(clip_id: str):
        raise RuntimeError("the embedding store went away")

    with pytest.raises(RuntimeError):
        export_subset(storage, "mine", _rows(video), webdataset=True, embeddings=embeddings)
    assert {p: Path(p).read_bytes() for p in first.files} == before
    assert [p.name for p in Path(first.folder).parent.iterdir()] == ["mine"]


def test_exported_urls_carry_no_credentials(storage: StorageRoot, video: str) -> None:
    rows = _rows(video).with_columns(
        pl.lit("https://u:pw@cdn.example/v.mp4?X-Amz-Signature=abc&id=3").alias("url")
    )
    result = export_subset(storage, "mine", rows)
    text = (Path(result.folder) / "subset.csv").read_text()
    assert "pw" not in text and "abc" not in text and "id=3" in text
