"""Extraction throughput: acav's pipeline against a plain single-process yardstick, same run.

Makes 30 s 640x360 H.264/AAC videos (keyframe every 2 s) and their 10 s windows (three a
video, as the clip stage cuts them), then embeds every window with SoundNet and MobileNetV2
twice, each in its own process so that its memory is its own:

- ``plain``: the yardstick, today's path written out plainly: one process, torch's default
  threads, each window decoded on its own at the centres of 8 equal slices, frames resized in
  torch, fp32 networks on batches of clips;
- ``acav``: ``extract_clips`` (each video decoded once, the frame cheapest to decode in each
  slice, one clip a network pass, as many decoding workers as cores beside the networks on
  one thread).

Prints one JSON line: clips/s of both, their ratio, CPU-seconds a clip, peak memory (RSS of
the main process and of the largest worker, and the proportional set size of the whole
process tree), and ``/proc/loadavg`` before and after each. ``--stages`` instead measures
each change alone (one thread, CPU-seconds a clip); ``--device cuda`` measures a GPU
(clips/s per GPU and GPU memory).

    python benchmarks/extraction.py
    python benchmarks/extraction.py --stages
    python benchmarks/extraction.py --device cuda --videos 64
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
import threading
import time

import numpy as np
import polars as pl
import torch
import torch.nn.functional as F

VIDEO_SOURCES = ("testsrc2", "mandelbrot", "life=ratio=0.3:mold=10", "cellauto=rule=110")
SECONDS = 30
WINDOW = 10.0
NUM_FRAMES = 8
SAMPLE_RATE = 22_050
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
TAPS = (3, 6, 10, 13, 18)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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


def clip_table(paths: list[str]) -> pl.DataFrame:
    rows = [
        {"clip_id": f"v{i}-{w}", "path": p, "start_s": w * WINDOW, "end_s": (w + 1) * WINDOW}
        for i, p in enumerate(paths)
        for w in range(int(SECONDS // WINDOW))
    ]
    return pl.DataFrame(rows)


# --- the yardstick: today's path, written out plainly ---------------------------------


def plain_networks(device: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    """SoundNet and MobileNetV2 (BatchNorm folded) with the packaged weights, fp32."""
    import torchvision

    from acav_assets.core.features import get_extractor
    from acav_assets.core.features.mobilenet import fuse_conv_batch_norm
    from acav_assets.core.features.soundnet import SoundNet8, state_dict_from_npy

    sound = SoundNet8()
    sound.load_state_dict(state_dict_from_npy(get_extractor("soundnet8").weights_path))
    mobile = torchvision.models.mobilenet_v2(weights=None)
    weights = get_extractor("mobilenet_v2").weights_path
    mobile.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    features = fuse_conv_batch_norm(mobile.features.eval()).to(memory_format=torch.channels_last)
    return sound.eval().to(device), features.to(device)


def plain_frames(path: str, start: float, end: float) -> torch.Tensor:
    """Today's sampling: the frames shown at the centres of 8 equal slices of the window."""
    from torchcodec.decoders import VideoDecoder

    decoder = VideoDecoder(path, seek_mode="approximate", num_ffmpeg_threads=1)
    step = (end - start) / NUM_FRAMES
    return decoder.get_frames_played_at([start + (i + 0.5) * step for i in range(NUM_FRAMES)]).data


def plain_wave(path: str, start: float, end: float) -> torch.Tensor:
    from torchcodec.decoders import AudioDecoder

    decoder = AudioDecoder(path, sample_rate=SAMPLE_RATE, num_channels=1)
    wave = decoder.get_samples_played_in_range(start, end).data.mean(dim=0)
    expected = round((end - start) * SAMPLE_RATE)
    return F.pad(wave, (0, max(0, expected - wave.numel())))[:expected]


def plain_pixels(frames: torch.Tensor) -> torch.Tensor:
    """uint8 (T, 3, H, W) to normalised (T, 3, 224, 224): short side 224, centre crop."""
    height, width = frames.shape[-2:]
    scale = 224 / min(height, width)
    size = (max(224, round(height * scale)), max(224, round(width * scale)))
    x = F.interpolate(frames.float() / 255, size=size, mode="bilinear", antialias=True)
    top, left = (size[0] - 224) // 2, (size[1] - 224) // 2
    x = x[:, :, top : top + 224, left : left + 224].clamp(0, 1)
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    return (x - mean) / std


def plain_mobilenet(features: torch.nn.Module, pixels: torch.Tensor) -> list[torch.Tensor]:
    """(clips, T, 3, 224, 224) to the five pooled layers, each (clips, dim)."""
    n_clips, n_frames = pixels.shape[:2]
    x = pixels.flatten(0, 1).contiguous(memory_format=torch.channels_last)
    pooled = []
    for index, block in enumerate(features):
        x = block(x)
        if index in TAPS:
            pooled.append(x.mean(dim=(2, 3)).view(n_clips, n_frames, -1).mean(dim=1))
    return pooled


def plain_embed(
    clips: pl.DataFrame, device: str = "cpu", batch_size: int = 8
) -> dict[str, tuple[list[str], list[np.ndarray]]]:
    """Both extractors' float32 layers over ``clips``, clip by clip, batch by batch."""
    sound, mobile = plain_networks(device)
    rows = clips.select("clip_id", "path", "start_s", "end_s").rows()
    out: dict[str, tuple[list[str], list[list[np.ndarray]]]] = {
        "soundnet8": ([], [[] for _ in range(5)]),
        "mobilenet_v2": ([], [[] for _ in range(5)]),
    }
    for first in range(0, len(rows), batch_size):
        batch = rows[first : first + batch_size]
        waves = torch.stack([plain_wave(p, s, e) for _, p, s, e in batch]) * 256.0
        pixels = torch.stack([plain_pixels(plain_frames(p, s, e)) for _, p, s, e in batch])
        with torch.inference_mode():
            audio = [x.mean(dim=2) for x in sound(waves.unsqueeze(1).to(device))[2:]]
            visual = plain_mobilenet(mobile, pixels.to(device))
        for name, layers in (("soundnet8", audio), ("mobilenet_v2", visual)):
            out[name][0].extend(clip for clip, *_ in batch)
            for rows_of_layer, layer in zip(out[name][1], layers, strict=True):
                rows_of_layer.append(layer.float().cpu().numpy())
    return {name: (ids, [np.concatenate(x) for x in layers]) for name, (ids, layers) in out.items()}


# --- measuring a run in its own process --------------------------------------------------


def _cpu_seconds() -> float:
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _loadavg() -> str:
    with open("/proc/loadavg") as handle:
        return handle.read().strip()


class TreeMemory:
    """Peak proportional set size (PSS) of a process and its children, sampled from outside
    (reading smaps costs CPU) every 0.2 s: forked workers share most pages with their
    parent, which RSS counts twice."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak_mib = max(self.peak_mib, sum(_pss_kib(p) for p in _tree(self.pid)) / 1024)


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo.extend(int(c) for c in handle.read().split())
        except OSError:
            continue
    return pids


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _measure(args: argparse.Namespace, paths: list[str]) -> dict:
    """One implementation over every window; the figures of this process."""
    from acav_assets.core.features import extract_clips, get_extractor

    clips = clip_table(paths)
    n = clips.height
    on_gpu = args.device.startswith("cuda")
    if args.measure == "plain":
        torch.set_num_threads(os.cpu_count() or 1)
        plain_embed(clips.head(2), args.device, 2)  # weights and first calls are not throughput
        run = lambda: plain_embed(clips, args.device, args.batch_size)  # noqa: E731
    else:
        torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) - args.workers))
        extractors = [get_extractor(name, device=args.device, precision=args.precision)
                      for name in ("soundnet8", "mobilenet_v2")]  # fmt: skip
        extract_clips(clips.head(2), extractors, batch_size=2, num_workers=0, device=None)

        def run() -> None:
            results = extract_clips(
                clips, extractors, batch_size=args.batch_size, num_workers=args.workers, device=None
            )
            for name, result in results.items():
                if result.counters["ok"] != n:
                    raise RuntimeError(f"{name}: only {result.counters['ok']} of {n} embedded")

    if on_gpu:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    load_before, cpu_before = _loadavg(), _cpu_seconds()
    began = time.perf_counter()
    run()
    if on_gpu:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - began
    cpu = _cpu_seconds() - cpu_before
    figures = {
        "clips": n,
        "seconds": round(seconds, 3),
        "clips_per_s": round(n / seconds, 2),
        "cpu_seconds_per_clip": round(cpu / n, 4),
        "peak_rss_main_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_worker_mib": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        ),
        "loadavg_before": load_before,
        "loadavg_after": _loadavg(),
        "torch_threads": torch.get_num_threads(),
    }
    if on_gpu:
        figures["gpu"] = torch.cuda.get_device_name(0)
        figures["gpu_peak_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        figures["gpu_peak_reserved_mib"] = round(torch.cuda.max_memory_reserved() / 2**20, 1)
    return figures


# --- each change alone, one thread ------------------------------------------------------


def _stages(paths: list[str]) -> dict:
    """CPU-seconds a clip of each stage and of each change to it, one thread, alone."""
    from torchcodec.decoders import AudioDecoder, Demuxer, VideoDecoder
    from torchcodec.transforms import CenterCrop, Resize

    from acav_assets.core.features.decode import plan_frames, sample_audio, sample_video

    torch.set_num_threads(1)
    clips = clip_table(paths)
    rows = clips.select("path", "start_s", "end_s").rows()
    windows = [(s, e) for _, s, e in rows[:3]]
    n = len(rows)
    frames = plain_frames(*rows[0])
    sound, mobile = plain_networks("cpu")
    pixels = plain_pixels(frames).unsqueeze(0)

    def centres_per_video() -> None:
        for path in paths:
            decoder = VideoDecoder(path, seek_mode="approximate", num_ffmpeg_threads=1)
            times = [s + (i + 0.5) * (e - s) / NUM_FRAMES for s, e in windows for i in range(8)]
            decoder.get_frames_played_at(times)

    def cheapest_in_decoder_resize() -> None:
        size = (224, round(640 * 224 / 360))
        for path in paths:
            index = Demuxer(path, streams="video").streams[0].scan()
            pts, key = index.pts_seconds.numpy(), index.is_key_frame.numpy()
            middle = pts + index.duration_seconds.numpy() / 2
            decoder = VideoDecoder(path, seek_mode="approximate", num_ffmpeg_threads=1,
                                   transforms=[Resize(size), CenterCrop((224, 224))])  # fmt: skip
            last = -1
            for s, e in windows:
                chosen = plan_frames(pts, key, s, e, NUM_FRAMES, last)
                last = chosen[-1]
                x = decoder.get_frames_played_at(middle[chosen].tolist()).data.float() / 255
                (x - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)

    int8 = _int8_mobilenet(mobile, [plain_pixels(plain_frames(*r)) for r in rows[:6]])
    stages = {
        "decode_frames_centres_each_window (today)": lambda: [plain_frames(*r) for r in rows],
        "decode_frames_centres_once_per_video": centres_per_video,
        "decode_frames_cheapest_once_per_video (acav)": lambda: [
            sample_video(p, windows, NUM_FRAMES) for p in paths
        ],
        "decode_frames_cheapest_and_resize_in_decoder": cheapest_in_decoder_resize,
        "resize_in_torch (acav)": lambda: [plain_pixels(frames) for _ in range(n)],
        "decode_audio_each_window (today)": lambda: [plain_wave(*r) for r in rows],
        "decode_audio_fresh_decoder_each_window (acav)": lambda: [
            sample_audio(p, windows, SAMPLE_RATE) for p in paths
        ],
        "mobilenet_fp32_4_clips_a_pass (today)": lambda: [
            plain_mobilenet(mobile, pixels.expand(4, -1, -1, -1, -1)) for _ in range(n // 4)
        ],
        "mobilenet_fp32_1_clip_a_pass (acav)": lambda: [
            plain_mobilenet(mobile, pixels) for _ in range(n)
        ],
        "mobilenet_int8_fx_x86_1_clip_a_pass": lambda: [int8(pixels[0]) for _ in range(n)],
        "soundnet_fp32": lambda: [
            sound(torch.randn(1, 1, int(WINDOW * SAMPLE_RATE))) for _ in range(n)
        ],
        "audio_decoder_open": lambda: [AudioDecoder(p) for p in paths],
    }
    out = {}
    for name, work in stages.items():
        before = resource.getrusage(resource.RUSAGE_SELF)
        with torch.inference_mode():
            work()
        after = resource.getrusage(resource.RUSAGE_SELF)
        spent = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        per = n if "open" not in name else len(paths)
        out[name] = round(spent / per, 4)
        log(f"{name}: {out[name]} CPU-s a {'clip' if per == n else 'video'}")
    return {"cpu_seconds_per_clip": out, "loadavg_after": _loadavg()}


def _int8_mobilenet(features: torch.nn.Module, calibration: list[torch.Tensor]):
    """MobileNetV2 quantised to int8 after training (torch.ao FX, x86 backend), calibrated on
    real frames; measured here only: its last layer drifts and the API is deprecated."""
    import copy
    import warnings

    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    class Taps(torch.nn.Module):
        def __init__(self, body: torch.nn.Module) -> None:
            super().__init__()
            self.body = body

        def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
            pooled = []
            for index, block in enumerate(self.body):
                x = block(x)
                if index in TAPS:
                    pooled.append(x.mean(dim=(2, 3)))
            return pooled

    torch.backends.quantized.engine = "x86"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Taps(copy.deepcopy(features).to(memory_format=torch.contiguous_format)).eval()
        prepared = prepare_fx(
            model, get_default_qconfig_mapping("x86"), example_inputs=(calibration[0],)
        )
        with torch.inference_mode():
            for frames in calibration:
                prepared(frames)
        return convert_fx(prepared)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=16, help="30 s videos (3 clips each)")
    parser.add_argument("--workers", type=int, default=None,
                        help="acav decoders (default: the cores; 8 threads on GPU)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=None,
                        help="acav's network threads (default: cores not decoding)")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=None, help="default 8, 64 on a GPU")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto", help="acav's: auto, fp32 or fp16")
    parser.add_argument("--repeat", type=int, default=1, help="plain/acav pairs, alternated")
    parser.add_argument("--stages", action="store_true", help="each change alone, one thread")
    parser.add_argument("--media-dir", default=None, help="reuse generated videos from here")
    parser.add_argument("--measure", choices=("plain", "acav"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    on_gpu = args.device.startswith("cuda")
    # a decode pool sized to the cores, the networks on one more thread (the OS shares them)
    args.workers = args.workers if args.workers is not None else (8 if on_gpu else os.cpu_count())
    args.batch_size = args.batch_size or (64 if on_gpu else 8)
    folder = args.media_dir or os.path.join(tempfile.gettempdir(), "acav-bench-media")
    os.makedirs(folder, exist_ok=True)
    paths = make_media(folder, args.videos)
    if args.measure:  # a child: its peak memory is this implementation's alone
        sys.stdout.write(json.dumps(_measure(args, paths)) + "\n")
        return
    common = {
        "benchmark": "extraction",
        "extractors": ["soundnet8", "mobilenet_v2"],
        "videos": args.videos,
        "resolution": "640x360",
        "window_s": WINDOW,
        "device": args.device,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }
    if args.stages:
        sys.stdout.write(json.dumps(common | _stages(paths)) + "\n")
        return
    runs: dict[str, list[dict]] = {"plain": [], "acav": []}
    for _ in range(args.repeat):
        for name in runs:
            child = [sys.executable, __file__, *sys.argv[1:], "--measure", name,
                     "--media-dir", folder]  # fmt: skip
            with subprocess.Popen(child, stdout=subprocess.PIPE, text=True) as process:
                with TreeMemory(process.pid) as memory:
                    out, _ = process.communicate()
            if process.returncode:
                raise RuntimeError(f"{name} run failed with exit code {process.returncode}")
            figures = json.loads(out.strip().splitlines()[-1])
            runs[name].append(figures | {"peak_pss_tree_mib": round(memory.peak_mib, 1)})
            log(f"{name}: {runs[name][-1]}")
    best = {name: max(r["clips_per_s"] for r in results) for name, results in runs.items()}
    summary = common | {
        "acav_settings": {
            "workers": args.workers,
            "batch_size": args.batch_size,
            "precision": args.precision,
        },
        "plain": runs["plain"] if args.repeat > 1 else runs["plain"][0],
        "acav": runs["acav"] if args.repeat > 1 else runs["acav"][0],
        "ratio": round(best["acav"] / best["plain"], 2),
    }
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
