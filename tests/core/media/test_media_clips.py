"""Clip windows and shot thresholds, checked against slow, obvious references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acav_assets.core.media import (
    Shot,
    choose_threshold,
    clip_id,
    cut_strength,
    pick_diverse,
    shot_windows,
    uniform_windows,
)


def _reference_threshold(times, scores, duration, threshold, min_shot_s, min_shots, top):
    """Every threshold of the ladder in turn until enough long shots; the first with most."""
    tried = []
    while True:
        cuts = sorted(t for t, s in zip(times, scores, strict=True) if s >= threshold and 0 < t)
        edges = [0.0, *cuts, duration]
        lengths = [b - a for a, b in itertools.pairwise(edges) if b > a]
        n_long = min(sum(1 for x in lengths if x >= min_shot_s), min_shots)
        tried.append((n_long, threshold, len(lengths)))
        if n_long >= min_shots or threshold >= top:
            most = max(n for n, _, _ in tried)
            return next((t, count) for n, t, count in tried if n == most)
        threshold = min(threshold * 1.2, top)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=120), st.floats(1, 50))
def test_choose_threshold_matches_reference(scores, start):
    times = np.arange(len(scores)) * 0.5
    duration = len(scores) * 0.5
    threshold, shots = choose_threshold(
        times, np.array(scores), duration, start, min_shot_s=3, max_threshold=100.0
    )
    expected = _reference_threshold(times, scores, duration, start, 3, 3, 100.0)
    assert (threshold, len(shots)) == (pytest.approx(expected[0]), expected[1])
    assert shots[0][0] == 0.0 and shots[-1][1] == duration


def _reference_strength(scores, half, peak_half, floor):
    out = []
    for i, score in enumerate(scores):
        context = [scores[min(max(j, 0), len(scores) - 1)] for j in range(i - half, i + half + 1)]
        near = scores[max(0, i - peak_half) : i + peak_half + 1]
        out.append(score / max(float(np.median(context)), floor) if score >= max(near) else 0.0)
    return out


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0, 100), max_size=60), st.sampled_from([1.0, 2.0, 4.0]))
def test_cut_strength_matches_reference(scores, fps):
    got = cut_strength(np.array(scores), fps, context_s=2.0, peak_s=0.5, floor=1.0)
    half, peak_half = max(1, round(2.0 * fps)), max(1, round(0.5 * fps))
    assert got.tolist() == pytest.approx(_reference_strength(scores, half, peak_half, 1.0))


def test_cut_strength_keeps_a_faint_cut_that_an_absolute_threshold_loses():
    """36 s at 4 fps: a moving scene scoring 14-26 on every frame, a cut (30), a still scene,
    a faint cut between two like still scenes (8), a still scene. The faint cut stands out
    against its still surroundings; an absolute threshold high enough to keep the moving
    scene whole is above it, so three 10 s shots never appear that way."""
    rng = np.random.default_rng(0)
    times = np.arange(144) / 4.0
    scores = np.concatenate([rng.uniform(14, 26, 48), rng.uniform(0, 1, 96)])
    scores[48], scores[96] = 30.0, 8.0
    _, shots = choose_threshold(times, cut_strength(scores, 4.0), 36.0)
    assert [a for a, _ in shots[1:]] == [12.0, 24.0]
    _, absolute = choose_threshold(times, scores, 36.0, 10.0, max_threshold=100.0)
    assert len(absolute) < 3


@settings(max_examples=80, deadline=None)
@given(st.floats(0.5, 700), st.integers(1, 5), st.floats(1, 20))
def test_uniform_windows_fit_without_overlap(duration, n, length):
    windows = uniform_windows(duration, n, length)
    expected = max(1, min(n, int(duration // length)))
    assert len(windows) == expected
    for w in windows:
        assert 0 <= w.start_s and w.end_s <= duration + 1e-9
        assert w.end_s - w.start_s == pytest.approx(min(length, duration))
    for a, b in itertools.pairwise(windows):
        assert a.end_s <= b.start_s + 1e-9


def _reference_diverse(points, lengths, k):
    """Recompute every distance at each step."""
    order = sorted(range(len(points)), key=lambda i: (-lengths[i], i))
    chosen = [order[0]]
    while len(chosen) < min(k, len(points)):

        def score(i):
            return (min(np.linalg.norm(points[i] - points[j]) for j in chosen), lengths[i], -i)

        chosen.append(max((i for i in order if i not in chosen), key=score))
    return chosen


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9), st.integers(1, 5), st.integers(0, 10_000))
def test_pick_diverse_matches_reference(n, k, seed):
    rng = np.random.default_rng(seed)
    points = list(rng.integers(0, 4, size=(n, 3)).astype(float))
    lengths = list(rng.integers(10, 14, size=n).astype(float))
    assert pick_diverse(points, lengths, k) == _reference_diverse(points, lengths, k)


def test_shot_windows_are_centred_in_long_unlike_shots():
    red, blue = np.zeros(48), np.ones(48)
    shots = [
        Shot(0.0, 20.0, red),
        Shot(20.0, 25.0, blue),  # too short for a clip
        Shot(25.0, 45.0, red + 0.01),
        Shot(45.0, 57.0, blue),
    ]
    windows = shot_windows(shots, 57.0, n_clips=2, clip_seconds=10.0)
    assert [(w.start_s, w.end_s) for w in windows] == [(5.0, 15.0), (46.0, 56.0)]
    assert {w.strategy for w in windows} == {"shots"}


def test_no_long_shot_falls_back_to_the_middle():
    shots = [Shot(0.0, 5.0, np.zeros(48)), Shot(5.0, 40.0 - 31, np.ones(48))]
    (window,) = shot_windows(shots, 40.0, clip_seconds=10.0)
    assert (window.start_s, window.end_s, window.strategy) == (15.0, 25.0, "middle")


def test_clip_id_is_video_and_start_in_ms():
    assert clip_id("yt-dQw4w9WgXcQ", 12.3456) == "yt-dQw4w9WgXcQ_12346"
