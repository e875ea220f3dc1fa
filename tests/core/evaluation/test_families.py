"""The picture families render with this ffmpeg for every parameter they can draw."""

from __future__ import annotations

import re
import subprocess

import numpy as np

from acav_assets.core.evaluation.families import VISUAL_FAMILIES


def test_colour_charts_never_draw_a_patch_wider_than_high_which_aborts_ffmpeg() -> None:
    chart = next(f for f in VISUAL_FAMILIES if f.name == "chart")
    rng = np.random.default_rng(0)
    sizes = [
        tuple(
            map(
                int,
                re.search(r"patch_size=(\d+)x(\d+)", chart.chain(rng, 320, 180, 10, 0)).groups(),
            )
        )
        for _ in range(300)
    ]
    assert all(across <= down for across, down in sizes)
    widest = max(sizes)
    chain = chart.chain(np.random.default_rng(1), 160, 96, 8, 0)
    chain = re.sub(r"patch_size=\d+x\d+", f"patch_size={widest[0]}x{widest[1]}", chain)
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-filter_complex",
         f"{chain},trim=duration=0.5,format=yuv420p[v]", "-map", "[v]", "-f", "null", "-"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-500:]
