"""Fast implementations against slow, obvious references on random inputs."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from acav_assets.core.features.decode import audio_rms, frame_measures, plan_frames
from acav_assets.core.features.frames import resize_center_crop
from acav_assets.core.features.soundnet import SoundNet8, state_dict_from_npy
from acav_assets.core.features.vggish import log_mel_patches, mel_matrix
from acav_assets.core.features.weights import packaged_file


def _mel(hz: float) -> float:
    return 1127.0 * math.log(1.0 + hz / 700.0)


def test_mel_matrix_matches_a_loop_over_bins_and_bands():
    bins = 257
    got = mel_matrix(bins).numpy()
    lo, hi = _mel(125.0), _mel(7500.0)
    edges = [lo + (hi - lo) * i / 65 for i in range(66)]
    for b in range(1, bins):
        m = _mel(8000.0 * b / (bins - 1))
        for band in range(64):
            left, centre, right = edges[band : band + 3]
            expected = max(0.0, min((m - left) / (centre - left), (right - m) / (right - centre)))
            assert abs(got[b, band] - expected) < 1e-5
    assert not got[0].any()


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), extra=st.integers(0, 16_000))
def test_log_mel_patches_match_a_direct_dft(seed, extra):
    rng = np.random.default_rng(seed)
    wave = rng.uniform(-1, 1, 15_760 + extra)  # one 0.96 s patch, sometimes two
    got = log_mel_patches(torch.from_numpy(wave)).numpy()
    n_frames = 1 + (len(wave) - 400) // 160
    k = np.arange(257)[:, None]
    n = np.arange(400)[None, :]
    cos, sin = np.cos(2 * np.pi * k * n / 512), np.sin(2 * np.pi * k * n / 512)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)
    weights = mel_matrix(257).double().numpy()
    rows = []
    for f in range(n_frames):
        frame = wave[f * 160 : f * 160 + 400] * window
        magnitude = np.hypot(cos @ frame, sin @ frame)
        rows.append(np.log(magnitude @ weights + 0.01))
    expected = np.array(rows)[: (n_frames // 96) * 96].reshape(-1, 96, 64)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_soundnet_first_two_convs_match_the_file_layout_by_hand():
    """Conv1d weights come from the file's (kernel, 1, in, out) layout, unflipped."""
    raw = np.load(
        packaged_file("soundnet", "models/sound8.npy"), allow_pickle=True, encoding="latin1"
    ).item()
    net = SoundNet8()
    net.load_state_dict(state_dict_from_npy(packaged_file("soundnet", "models/sound8.npy")))
    rng = np.random.default_rng(0)
    for name, c_in, stride, pad in (("conv1", 1, 2, 32), ("conv2", 16, 2, 16)):
        x = rng.standard_normal((c_in, 300)).astype(np.float32)
        conv = net.blocks[name][0]
        with torch.no_grad():
            got = conv(torch.from_numpy(x)[None])[0].numpy()
        w, b = raw[name]["weights"], raw[name]["biases"]
        padded = np.pad(x, ((0, 0), (pad, pad)))
        for out in (0, 5, w.shape[3] - 1):
            for t in (0, 7, got.shape[1] - 1):
                total = b[out]
                for i in range(c_in):
                    for k in range(w.shape[0]):
                        total += w[k, 0, i, out] * padded[i, stride * t + k]
                assert abs(got[out, t] - total) < 1e-3 * (1 + abs(total))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_frames=st.integers(1, 5))
def test_frame_measures_match_per_pixel_loops(seed, n_frames):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (n_frames, 3, 6, 9), dtype=np.uint8)
    diff, luma = frame_measures(torch.from_numpy(frames))
    y = (0.299 * frames[:, 0] + 0.587 * frames[:, 1] + 0.114 * frames[:, 2]) / 255.0
    expected_diff = (
        np.mean([np.abs(y[t + 1] - y[t]).mean() for t in range(n_frames - 1)])
        if n_frames > 1
        else 0
    )
    assert abs(luma - y.mean()) < 1e-5
    assert abs(diff - expected_diff) < 1e-5


def test_frame_measures_see_black_and_frozen_pictures():
    black = torch.zeros(4, 3, 90, 160, dtype=torch.uint8)
    assert frame_measures(black) == (0.0, 0.0)
    still = torch.randint(0, 256, (1, 3, 90, 160), dtype=torch.uint8).repeat(4, 1, 1, 1)
    diff, luma = frame_measures(still)
    assert diff == 0.0 and luma > 0.3


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 500))
def test_audio_rms_is_the_root_mean_square(seed, n):
    wave = np.random.default_rng(seed).uniform(-1, 1, n).astype(np.float32)
    assert (
        abs(audio_rms(torch.from_numpy(wave)) - math.sqrt(sum(float(v) ** 2 for v in wave) / n))
        < 1e-6
    )


def _frames_to_reach(is_key: list[bool], last: int, frame: int) -> int:
    """Frames an H.264 decoder spends to show ``frame`` after showing ``last`` (-1: none):
    it goes on from ``last`` when no keyframe lies between them, else it restarts from the
    keyframe before ``frame`` (the first frame when there is none)."""
    if last >= 0 and last <= frame and not any(is_key[last + 1 : frame + 1]):
        return frame - last
    key = frame
    while key > 0 and not is_key[key]:
        key -= 1
    return frame - key + 1


def _frames_spent(is_key: list[bool], frames: list[int]) -> int:
    total, last = 0, -1
    for frame in frames:
        total, last = total + _frames_to_reach(is_key, last, frame), frame
    return total


def _plan_by_hand(pts, is_key, start, end, n):
    step = (end - start) / n
    chosen, last = [], -1
    for i in range(n):
        low, centre = start + i * step, start + (i + 0.5) * step
        before = [f for f in range(len(pts)) if pts[f] <= low][-1:]  # on screen at low
        inside = before + [f for f in range(len(pts)) if low < pts[f] < low + step] or [0]
        last = min(
            inside, key=lambda f: (_frames_to_reach(is_key, last, f), abs(pts[f] - centre), f)
        )
        chosen.append(last)
    return chosen


def _stream(seed: int, n_frames: int, key_rate: float):
    rng = np.random.default_rng(seed)
    pts = np.cumsum(rng.uniform(0.01, 0.1, n_frames)) - 0.01
    is_key = rng.random(n_frames) < key_rate
    return pts, is_key


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_frames=st.integers(1, 120),
    key_rate=st.sampled_from([0.0, 0.03, 0.2, 1.0]),
    n=st.integers(1, 12),
    where=st.floats(0, 1),
    length=st.floats(0.05, 6),
)
def test_plan_frames_matches_a_frame_by_frame_search(seed, n_frames, key_rate, n, where, length):
    pts, is_key = _stream(seed, n_frames, key_rate)
    start = where * pts[-1]
    got = plan_frames(pts, is_key, start, start + length, n)
    assert got == _plan_by_hand(pts.tolist(), is_key.tolist(), start, start + length, n)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_frames=st.integers(2, 150),
    key_rate=st.sampled_from([0.0, 0.03, 0.2, 1.0]),
    n=st.integers(1, 12),
    where=st.floats(0, 1),
)
def test_planned_frames_never_cost_more_than_the_slice_centres(seed, n_frames, key_rate, n, where):
    pts, is_key = _stream(seed, n_frames, key_rate)
    start = where * pts[-1] * 0.9
    end = min(pts[-1], start + 10.0)
    step = (end - start) / n
    centres = [
        max(0, int(np.searchsorted(pts, start + (i + 0.5) * step, side="right")) - 1)
        for i in range(n)
    ]
    planned = plan_frames(pts, is_key, start, end, n)
    assert _frames_spent(is_key.tolist(), planned) <= _frames_spent(is_key.tolist(), centres)


def test_plan_frames_samples_each_slice_at_its_cheapest_frame():
    pts = np.arange(900) / 30.0  # 30 s at 30 fps, a keyframe every 2 s
    is_key = np.arange(900) % 60 == 0
    frames = plan_frames(pts, is_key, 10.0, 20.0, 8)
    slices = [(10.0 + 1.25 * i, 11.25 + 1.25 * i) for i in range(8)]
    on_screen = [(pts[f], pts[f] + 1 / 30) for f in frames]
    assert all(s < high and e > low for (s, e), (low, high) in zip(on_screen, slices, strict=True))
    # five keyframes, and the first frame of each slice without one
    assert frames == [300, 360, 375, 420, 480, 487, 540, 562]
    assert _frames_spent(is_key.tolist(), frames) == 1 + 1 + 15 + 1 + 1 + 7 + 1 + 22
    centres = [318, 356, 393, 431, 468, 506, 543, 581]
    assert _frames_spent(is_key.tolist(), centres) == 209


def test_resize_center_crop_keeps_the_middle_of_the_picture():
    frames = torch.zeros(2, 3, 360, 640, dtype=torch.uint8)
    frames[:, :, :, 200:440] = 255  # a white band around the centre, 240 px wide
    out = resize_center_crop(frames, short_side=224, crop=224)
    assert out.shape == (2, 3, 224, 224)
    assert out[:, :, :, 100:124].min() > 0.99  # centre is white
    assert out[:, :, :, :5].max() < 0.01 and out[:, :, :, -5:].max() < 0.01
