"""The GPU path: NVDEC decoding, fp16 networks, pinned batches; skipped without a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
import torch

from acav_assets.core.features import extract_clips, extract_shard, get_extractor
from acav_assets.core.features.decode import sample_video

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
BENCHMARK = os.path.join(os.path.dirname(__file__), "..", "..", "..", "benchmarks", "extraction.py")


def _clips(media, names=("tone", "noise", "frozen")) -> pl.DataFrame:
    return pl.DataFrame(
        {"clip_id": list(names), "path": [media[n] for n in names],
         "start_s": [0.0] * len(names), "end_s": [3.0] * len(names)}
    )  # fmt: skip


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA device"):
        get_extractor("soundnet8", device="cuda").load()


@pytest.mark.gpu
@needs_gpu
def test_nvdec_decodes_the_frames_the_cpu_decodes(media):
    windows = [(0.0, 3.0), (0.5, 2.5)]
    on_cpu = sample_video(media["tone"], windows, 8)
    on_gpu = sample_video(media["tone"], windows, 8, device="cuda")
    for cpu, gpu in zip(on_cpu, on_gpu, strict=True):
        assert gpu.device.type == "cuda" and gpu.dtype == torch.uint8
        assert gpu.shape == cpu.shape
        # same frames; NVDEC's colour conversion differs from swscale's by a few levels
        assert (gpu.cpu().float() - cpu.float()).abs().mean() < 4.0


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("name", ["soundnet8", "mobilenet_v2"])
def test_gpu_embeddings_match_the_cpu(name, media):
    on_cpu = extract_shard(_clips(media), get_extractor(name), device="cpu", num_workers=1)
    on_gpu = extract_shard(_clips(media), get_extractor(name), device="cuda", num_workers=2)
    for index in on_cpu.embeddings:
        cpu_ids, cpu_X = on_cpu.embeddings[index]
        gpu_ids, gpu_X = on_gpu.embeddings[index]
        assert cpu_ids == gpu_ids
        assert _cosines(cpu_X, gpu_X).min() > 0.99


@pytest.mark.gpu
@needs_gpu
def test_fp16_outputs_match_fp32_on_the_same_clips(media):
    extractors = {
        precision: [
            get_extractor(n, device="cuda", precision=precision)
            for n in ("soundnet8", "mobilenet_v2")
        ]  # fmt: skip
        for precision in ("fp16", "fp32")
    }
    assert extractors["fp16"][0].load().half_precision
    assert not extractors["fp32"][0].load().half_precision
    half = extract_clips(_clips(media), extractors["fp16"], batch_size=3, num_workers=2)
    full = extract_clips(_clips(media), extractors["fp32"], batch_size=3, num_workers=2)
    for name in half:
        assert half[name].counters["ok"] == 3
        for index, (ids, X) in half[name].embeddings.items():
            full_ids, full_X = full[name].embeddings[index]
            assert ids == full_ids and np.isfinite(X).all()
            assert _cosines(X, full_X).min() > 0.995, (name, index)


@pytest.mark.gpu
@needs_gpu
def test_benchmark_prints_clips_per_second_and_gpu_memory(tmp_path):
    command = [sys.executable, BENCHMARK, "--device", "cuda", "--videos", "4",
               "--media-dir", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=900)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(figures))  # the speed figure, for the record (-s shows it)
    acav = figures["acav"]
    assert acav["clips"] == 12 and acav["clips_per_s"] > 0
    assert acav["gpu_peak_allocated_mib"] > 0 and acav["gpu"]
    assert figures["ratio"] > 0
