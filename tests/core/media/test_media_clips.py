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
    pick_diverse,
    shot_windows,
    uniform_windows,
)


def _reference_threshold(times, scores, duration, threshold, min_shot_s, min_shots):
    while True:
        cuts = sorted(t for t, s in zip(times, scores, strict=True) if s >= threshold and 0 < t)
        edges = [0.0, *cuts, duration]
        lengths = [b - a for a, b in itertools.pairwise(edges) if b > a]
        if sum(1 for x in lengths if x >= min_shot_s) >= min_shots or threshold >= 100:
            return threshold, len(lengths)
        threshold = min(threshold * 1.2, 100.0)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=120), st.floats(1, 50))
def test_choose_threshold_matches_reference(scores, start):
    times = np.arange(len(scores)) * 0.5
    duration = len(scores) * 0.5
    threshold, shots = choose_threshold(times, np.array(scores), duration, start, min_shot_s=3)
    expected_threshold, expected_count = _reference_threshold(times, scores, duration, start, 3, 3)
    assert threshold == pytest.approx(expected_threshold)
    assert len(shots) == expected_count
    assert shots[0][0] == 0.0 and shots[-1][1] == duration


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
