"""The GPU path: same embeddings as the CPU, batches through pinned memory."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch

from acav_assets.core.features import extract_shard, get_extractor

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA device"):
        get_extractor("soundnet8", device="cuda").load()


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("name", ["soundnet8", "mobilenet_v2"])
def test_gpu_embeddings_match_the_cpu(name, media):
    clips = pl.DataFrame(
        {"clip_id": ["a", "b"], "path": [media["tone"], media["noise"]],
         "start_s": [0.0, 0.0], "end_s": [3.0, 3.0]}
    )  # fmt: skip
    on_cpu = extract_shard(clips, get_extractor(name), device="cpu", num_workers=1)
    on_gpu = extract_shard(clips, get_extractor(name), device="cuda", num_workers=1)
    for index in on_cpu.embeddings:
        cpu_ids, cpu_X = on_cpu.embeddings[index]
        gpu_ids, gpu_X = on_gpu.embeddings[index]
        assert cpu_ids == gpu_ids
        scale = np.abs(cpu_X.astype(np.float32)).max() + 1e-6
        np.testing.assert_allclose(gpu_X.astype(np.float32) / scale, cpu_X / scale, atol=2e-2)
