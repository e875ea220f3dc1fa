"""Visual and sound families of the demo corpus, as ffmpeg lavfi filter chains.

A class of the controlled corpus is one visual family and one sound family. Families differ
in what a pretrained network notices (shape, texture, motion, colour; timbre, pitch, rhythm)
and each draw varies inside its family, so the correspondence has to be found by
statistics over the corpus, not by matching one fixed template. Every chain is a source with
no input; the caller trims it and normalises size, rate and format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Chain = Callable[[np.random.Generator, int, int, int, int], str]


@dataclass(frozen=True)
class Family:
    """A named generator of lavfi chains: ``chain(rng, width, height, fps_or_rate, seed)``."""

    name: str
    chain: Chain


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _hex(rgb: np.ndarray) -> str:
    r, g, b = (int(np.clip(c, 0, 255)) for c in rgb)
    return f"0x{r:02x}{g:02x}{b:02x}"


def _near(rng: np.random.Generator, base: tuple[int, int, int], spread: float = 40.0) -> str:
    return _hex(np.asarray(base, dtype=float) + rng.uniform(-spread, spread, size=3))


# --- visual families (chain(rng, width, height, fps, seed)) ---


def _life(rng, w, h, fps, seed):
    return (
        f"life=s={w}x{h}:r={fps}:seed={seed}:ratio={_u(rng, 0.2, 0.5):.2f}"
        f":mold={int(rng.integers(5, 40))}:life_color={_near(rng, (255, 140, 0))}"
        f":death_color={_near(rng, (0, 30, 80), 25)}:mold_color={_near(rng, (120, 0, 60), 30)}"
    )


def _mandelbrot(rng, w, h, fps, seed):
    x, y = [(-0.743643, 0.131825), (-0.16, 1.0405), (0.285, 0.01), (-1.25066, 0.02012)][
        int(rng.integers(0, 4))
    ]
    return (
        f"mandelbrot=s={w}x{h}:r={fps}:maxiter=64:start_x={x + _u(rng, -1e-4, 1e-4):.7f}"
        f":start_y={y + _u(rng, -1e-4, 1e-4):.7f}:start_scale={_u(rng, 1.0, 3.0):.3f}"
        f":end_scale={_u(rng, 0.01, 0.3):.3f},hue=h={_u(rng, -25, 25):.1f}"
    )


def _cellauto(rng, w, h, fps, seed):
    rule = [18, 30, 45, 73, 90, 105, 110, 150][int(rng.integers(0, 8))]
    g, b = _u(rng, 0.6, 1.0), _u(rng, 0.1, 0.4)
    return (
        f"cellauto=s={w}x{h}:r={fps}:rule={rule}:seed={seed}:random_fill_ratio="
        f"{_u(rng, 0.2, 0.8):.2f}:scroll=1,format=rgb24,"
        f"colorchannelmixer=rr=0.1:gg={g:.2f}:bb={b:.2f}"
    )


def _gradients(rng, w, h, fps, seed):
    colours = ":".join(
        f"c{i}={_near(rng, base, 50)}"
        for i, base in enumerate([(230, 40, 160), (40, 200, 230), (250, 230, 60)])
    )
    return f"gradients=s={w}x{h}:r={fps}:{colours}:n=3:seed={seed}:speed={_u(rng, 0.01, 0.08):.3f}"


def _sierpinski(rng, w, h, fps, seed):
    kind = int(rng.integers(0, 2))
    return (
        f"sierpinski=s={w}x{h}:r={fps}:seed={seed}:jump={int(rng.integers(1, 6))}:type={kind},"
        f"format=rgb24,colorchannelmixer=rr={_u(rng, 0.7, 1.0):.2f}:gg=0.2:bb=0.1"
    )


def _checker(rng, w, h, fps, seed):
    p = int(rng.integers(6, 14))
    vx, vy = _u(rng, 4, 12), _u(rng, -6, 6)
    return (
        f"color=c=black:s={w // 2}x{h // 2}:r={fps},format=yuv444p,"
        f"geq=lum='if(mod(floor((X+{vx:.1f}*T)/{p})+floor((Y+{vy:.1f}*T)/{p}),2),220,30)'"
        f":cb={int(rng.integers(100, 140))}:cr={int(rng.integers(40, 90))}"
        f",scale={w}:{h}:flags=neighbor"
    )


def _grain(rng, w, h, fps, seed):
    return (
        f"color=c={_near(rng, (110, 80, 50), 30)}:s={w}x{h}:r={fps},"
        f"noise=alls={int(rng.integers(40, 90))}:allf=t+u:all_seed={seed},"
        f"boxblur={int(rng.integers(1, 3))}"
    )


def _stripes(rng, w, h, fps, seed):
    p, spin = _u(rng, 2.5, 5.0), _u(rng, 0.2, 0.8) * (1 if rng.random() < 0.5 else -1)
    return (
        f"color=c=black:s={w // 2}x{h // 2}:r={fps},format=yuv444p,"
        f"geq=lum='128+120*sin(((X-W/2)*cos({spin:.2f}*T)+(Y-H/2)*sin({spin:.2f}*T))/{p:.2f})'"
        f":cb={int(rng.integers(150, 200))}:cr={int(rng.integers(100, 140))},scale={w}:{h}"
    )


def _bars(rng, w, h, fps, seed):
    source = ["smptebars", "smptehdbars", "pal100bars"][int(rng.integers(0, 3))]
    return (
        f"{source}=s={w}x{h}:r={fps},scroll=h={_u(rng, 0.005, 0.03):.3f}"
        f":v={_u(rng, -0.01, 0.01):.3f},hue=h={_u(rng, -20, 20):.1f}"
    )


def _rings(rng, w, h, fps, seed):
    cx, cy, p, speed = _u(rng, 0.3, 0.7), _u(rng, 0.3, 0.7), _u(rng, 2.0, 4.0), _u(rng, 2, 6)
    return (
        f"color=c=black:s={w // 2}x{h // 2}:r={fps},format=yuv444p,"
        f"geq=lum='128+120*sin(hypot(X-{cx:.2f}*W,Y-{cy:.2f}*H)/{p:.2f}-{speed:.2f}*T)'"
        f":cb={int(rng.integers(60, 100))}:cr={int(rng.integers(160, 210))},scale={w}:{h}"
    )


# --- sound families (chain(rng, 0, 0, sample_rate, seed)) ---


def _eval(expr: str, rate: int) -> str:
    return f"aevalsrc=exprs='{expr}':s={rate}"


def _drone(rng, w, h, rate, seed):
    f = _u(rng, 80, 140)
    return _eval(
        f"0.4*sin(2*PI*{f:.1f}*t)+0.25*sin(2*PI*{2 * f:.1f}*t)+0.15*sin(2*PI*{3 * f:.1f}*t)", rate
    )


def _square(rng, w, h, rate, seed):
    f = _u(rng, 300, 450)
    odd = "+".join(f"{0.45 / n:.3f}*sin(2*PI*{n * f:.1f}*t)" for n in (1, 3, 5, 7))
    return f"{_eval(odd, rate)},tremolo=f={_u(rng, 3, 6):.2f}:d=0.8"


def _pink_bursts(rng, w, h, rate, seed):
    return (
        f"anoisesrc=c=pink:r={rate}:a=0.5:seed={seed},apulsator=hz={_u(rng, 1.5, 3.0):.2f}:amount=1"
    )


def _rumble(rng, w, h, rate, seed):
    return (
        f"anoisesrc=c=brown:r={rate}:a=0.8:seed={seed},"
        f"lowpass=f={int(rng.integers(200, 400))},volume=2.5"
    )


def _beeps(rng, w, h, rate, seed):
    f, period = _u(rng, 1800, 2600), _u(rng, 0.3, 0.6)
    return _eval(f"0.4*sin(2*PI*{f:.1f}*t)*lt(mod(t,{period:.3f}),{period / 3:.3f})", rate)


def _sweeps(rng, w, h, rate, seed):
    f0, f1, span = _u(rng, 300, 600), _u(rng, 1200, 2000), _u(rng, 0.8, 1.6)
    return _eval(
        f"0.4*sin(2*PI*({f0:.1f}*mod(t,{span:.2f})"
        f"+{(f1 - f0) / (2 * span):.1f}*mod(t,{span:.2f})^2))",
        rate,
    )


def _bells(rng, w, h, rate, seed):
    fc, ratio, period = _u(rng, 500, 800), _u(rng, 1.3, 1.5), _u(rng, 0.7, 1.2)
    return _eval(
        f"0.5*exp(-4*mod(t,{period:.2f}))*sin(2*PI*{fc:.1f}*t+3*sin(2*PI*{fc * ratio:.1f}*t))",
        rate,
    )


def _hiss(rng, w, h, rate, seed):
    return (
        f"anoisesrc=c=white:r={rate}:a=0.6:seed={seed},highpass=f={int(rng.integers(3500, 5000))},"
        f"tremolo=f={_u(rng, 8, 12):.2f}:d=0.9,volume=2"
    )


def _chord(rng, w, h, rate, seed):
    f, lfo = _u(rng, 220, 330), _u(rng, 0.3, 0.8)
    return _eval(
        f"(0.25*sin(2*PI*{f:.1f}*t)+0.2*sin(2*PI*{f * 1.26:.1f}*t)"
        f"+0.2*sin(2*PI*{f * 1.5:.1f}*t))*(0.6+0.4*sin(2*PI*{lfo:.2f}*t))",
        rate,
    )


def _kicks(rng, w, h, rate, seed):
    period, f = _u(rng, 0.4, 0.6), _u(rng, 50, 70)
    return _eval(
        f"0.8*exp(-25*mod(t,{period:.3f}))*sin(2*PI*{f:.1f}*t*(1+exp(-40*mod(t,{period:.3f}))))",
        rate,
    )


VISUAL_FAMILIES: tuple[Family, ...] = (
    Family("life", _life),
    Family("mandelbrot", _mandelbrot),
    Family("cellauto", _cellauto),
    Family("gradients", _gradients),
    Family("sierpinski", _sierpinski),
    Family("checker", _checker),
    Family("grain", _grain),
    Family("stripes", _stripes),
    Family("bars", _bars),
    Family("rings", _rings),
)

SOUND_FAMILIES: tuple[Family, ...] = (
    Family("drone", _drone),
    Family("square", _square),
    Family("pink_bursts", _pink_bursts),
    Family("rumble", _rumble),
    Family("beeps", _beeps),
    Family("sweeps", _sweeps),
    Family("bells", _bells),
    Family("hiss", _hiss),
    Family("chord", _chord),
    Family("kicks", _kicks),
)

MAX_CLASSES = min(len(VISUAL_FAMILIES), len(SOUND_FAMILIES))
