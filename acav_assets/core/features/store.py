"""Embeddings on the storage root: float16 arrays with their clip ids, one file per
(extractor, shard, layer).

Layout: ``embeddings/<extractor>/shard=<key>/layer-<i>.npz`` holding ``clip_id`` and ``X``
together, so the index and the array can never disagree, plus ``_meta.json`` (extractor
version, layer names and dims) written last: a shard without it is incomplete.
"""

from __future__ import annotations

import io
import json
import posixpath
import re

import numpy as np
import polars as pl

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.storage import StorageRoot, check_key

META_NAME = "_meta.json"
_LAYER_FILE = re.compile(r"^layer-(\d+)\.npz$")


class EmbeddingStore:
    """Reads and writes pooled layer embeddings under ``<root>/embeddings``."""

    def __init__(self, root: StorageRoot) -> None:
        self.root = root

    def shard_dir(self, extractor_name: str, shard: str) -> str:
        return self.root.path(
            "embeddings",
            check_key("extractor", extractor_name),
            f"shard={check_key('shard', shard)}",
        )

    def layer_file(self, extractor_name: str, shard: str, layer_index: int) -> str:
        if not isinstance(layer_index, int) or layer_index < 0:
            raise ValueError(f"layer_index must be an int >= 0, got {layer_index!r}")
        return posixpath.join(self.shard_dir(extractor_name, shard), f"layer-{layer_index}.npz")

    def write(
        self,
        extractor_name: str,
        shard: str,
        layer_index: int,
        clip_ids: list[str],
        X: np.ndarray,
    ) -> str:
        """Replace one layer of one shard atomically; ``X`` ``(n_clips, dim)`` is stored
        float16. Returns the file written."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[0] != len(clip_ids):
            raise ValueError(
                f"X must be (n_clips, dim) with n_clips = {len(clip_ids)} ids, got {X.shape}"
            )
        if len(set(clip_ids)) != len(clip_ids):
            raise ValueError(f"{extractor_name}/{shard}: clip ids are not unique")
        if X.dtype.kind == "f" and not np.isfinite(X).all():
            raise ValueError(f"{extractor_name}/{shard} layer {layer_index}: X is not finite")
        buffer = io.BytesIO()
        np.savez(buffer, clip_id=np.asarray(clip_ids, dtype=str), X=X.astype(np.float16))
        path = self.layer_file(extractor_name, shard, layer_index)
        self.root.write_bytes(path, buffer.getvalue())
        return path

    def write_meta(self, extractor_name: str, shard: str, meta: dict) -> None:
        """Mark a shard complete (write it after its layers) with its version and layers."""
        path = posixpath.join(self.shard_dir(extractor_name, shard), META_NAME)
        self.root.write_bytes(path, json.dumps(meta, sort_keys=True).encode())

    def meta(self, extractor_name: str, shard: str) -> dict | None:
        """The shard's metadata, or ``None`` when it was never completed."""
        path = posixpath.join(self.shard_dir(extractor_name, shard), META_NAME)
        if not self.root.fs.exists(path):
            return None
        return json.loads(self.root.read_bytes(path))

    def read_shard(
        self, extractor_name: str, shard: str, layer_index: int
    ) -> tuple[list[str], np.ndarray]:
        """Clip ids and float16 ``X`` of one layer of one shard."""
        path = self.layer_file(extractor_name, shard, layer_index)
        if not self.root.fs.exists(path):
            raise FileNotFoundError(f"no layer {layer_index} of {extractor_name!r}/{shard!r}")
        with np.load(io.BytesIO(self.root.read_bytes(path)), allow_pickle=False) as data:
            return data["clip_id"].tolist(), data["X"]

    def read(
        self, extractor_name: str, layer_index: int, shards: list[str] | None = None
    ) -> tuple[list[str], np.ndarray]:
        """Clip ids and ``X`` float32 ``(n_clips, dim)`` of one layer over shards (all by
        default), shards in sorted order."""
        wanted = self.shards(extractor_name) if shards is None else shards
        ids: list[str] = []
        arrays = []
        for shard in wanted:
            shard_ids, X = self.read_shard(extractor_name, shard, layer_index)
            ids.extend(shard_ids)
            arrays.append(X)
        if not arrays:
            return [], np.zeros((0, 0), dtype=np.float32)
        return ids, np.ascontiguousarray(np.concatenate(arrays), dtype=np.float32)

    def shards(self, extractor_name: str) -> list[str]:
        """Shards whose embeddings are complete (their metadata was written)."""
        found = self.root.glob(
            "embeddings", check_key("extractor", extractor_name), "shard=*", META_NAME
        )
        return sorted(posixpath.basename(posixpath.dirname(p)).split("=", 1)[1] for p in found)

    def layers(self, extractor_name: str) -> list[int]:
        """Layer indices stored for the extractor (in its first complete shard)."""
        shards = self.shards(extractor_name)
        if not shards:
            return []
        names = self.root.fs.ls(self.shard_dir(extractor_name, shards[0]), detail=False)
        matches = (_LAYER_FILE.match(posixpath.basename(n)) for n in names)
        return sorted(int(m.group(1)) for m in matches if m)

    def extractors(self) -> list[str]:
        found = self.root.glob("embeddings", "*", "shard=*", META_NAME)
        return sorted({posixpath.basename(posixpath.dirname(posixpath.dirname(p))) for p in found})


def write_status(tables: TableStore, shard: str, status: pl.DataFrame) -> str:
    """Replace the ``embeddings`` rows of the extractors in ``status`` for ``shard`` and keep
    the other extractors' rows (one shard file holds every extractor's rows).

    A read-modify-write: two writers of the same shard must not run at the same time.
    """
    names = status["extractor"].unique().to_list()
    kept = tables.read("embeddings", shards=[shard])
    if kept.height:
        kept = kept.filter(~pl.col("extractor").is_in(names)).drop("shard")
    merged = pl.concat([kept, status], how="diagonal_relaxed") if kept.height else status
    return tables.write("embeddings", shard, merged)
