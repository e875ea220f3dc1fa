"""Shot detection on a generated video whose cuts are known."""

from __future__ import annotations

import pytest

from acav_assets.core.media import find_shots, probe_video, shot_windows


def test_find_shots_finds_the_known_cuts(cuts_video):
    path, cuts = cuts_video
    shots = find_shots(path, threshold=10, min_shot_s=10, min_shots=3)
    assert len(shots) == len(cuts) + 1
    assert [s.start_s for s in shots[1:]] == [pytest.approx(c, abs=0.3) for c in cuts]
    assert shots[0].start_s == 0.0
    assert shots[-1].end_s == pytest.approx(probe_video(path).duration_s, abs=0.3)


def test_shot_clips_prefer_shots_unlike_those_chosen(cuts_video):
    path, _ = cuts_video
    duration = probe_video(path).duration_s
    windows = shot_windows(find_shots(path, min_shot_s=10), duration, 3, 10.0)
    centres = [round((w.start_s + w.end_s) / 2) for w in windows]
    assert centres == [6, 18, 30]  # red, pattern, blue: the second red shot is left out


def test_find_shots_rejects_a_file_that_is_not_video(tmp_path):
    path = tmp_path / "x.mp4"
    path.write_bytes(b"not a video")
    with pytest.raises(ValueError, match="x.mp4"):
        find_shots(path)
