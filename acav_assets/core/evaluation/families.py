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


def _testcard(rng, w, h, fps, seed):
    return (
        f"testsrc2=s={w}x{h}:r={fps},hue=h={_u(rng, -40, 40):.1f}:s={_u(rng, 0.6, 1.4):.2f},"
        f"scroll=h={_u(rng, -0.02, 0.02):.3f}"
    )


def _spectrum(rng, w, h, fps, seed):
    kind = int(rng.integers(0, 3))
    return (
        f"colorspectrum=s={w}x{h}:r={fps}:type={kind},"
        f"scroll=h={_u(rng, 0.005, 0.03):.3f}:v={_u(rng, -0.02, 0.02):.3f}"
    )


def _chart(rng, w, h, fps, seed):
    preset = ["reference", "skintones"][int(rng.integers(0, 2))]
    # ffmpeg 5.1's colorchart corrupts its heap (abort) when a patch is wider than high
    across, down = sorted(int(rng.integers(24, 48)) for _ in range(2))
    return (
        f"colorchart=r={fps}:preset={preset}:patch_size={across}x{down}"
        f",scale={w}:{h},rotate=a='{_u(rng, 0.1, 0.4):.2f}*sin(t)'"
        f":fillcolor={_near(rng, (60, 60, 60), 30)}"
    )


def _plasma(rng, w, h, fps, seed):
    a, b, c = _u(rng, 8, 16), _u(rng, 6, 12), _u(rng, 0.8, 2.0)
    return (
        f"color=c=black:s={w // 2}x{h // 2}:r={fps},format=yuv444p,"
        f"geq=lum='128+60*sin(X/{a:.1f}+{c:.2f}*T)+60*sin(Y/{b:.1f}-{c:.2f}*T)'"
        f":cb='128+90*sin((X+Y)/{a + b:.1f}+T)':cr='128+90*cos((X-Y)/{a:.1f}-T)',scale={w}:{h}"
    )


def _orbit(rng, w, h, fps, seed):
    r, speed, size = _u(rng, 0.2, 0.35), _u(rng, 0.8, 2.0), _u(rng, 6, 12)
    return (
        f"color=c=black:s={w // 2}x{h // 2}:r={fps},format=yuv444p,"
        f"geq=lum='30+200*lt(hypot(X-W/2-{r:.2f}*W*cos({speed:.2f}*T),"
        f"Y-H/2-{r:.2f}*H*sin({speed:.2f}*T)),{size:.1f})':cb={int(rng.integers(140, 200))}"
        f":cr={int(rng.integers(140, 200))},scale={w}:{h}"
    )


def _tiles(rng, w, h, fps, seed):
    p = int(rng.integers(16, 30))
    return (
        f"color=c=black:s={w // 2}x{h // 2}:r={fps},format=yuv444p,"
        f"geq=lum='40+180*mod(floor(X/{p})*7+floor(Y/{p})*13+floor(T*{_u(rng, 1, 3):.2f}),5)/4'"
        f":cb='60+30*mod(floor(X/{p}),3)':cr='80+40*mod(floor(Y/{p}),2)',scale={w}:{h}"
        f":flags=neighbor"
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


_WORDS = (
    "river stone apple window garden yellow seven market silver thunder morning candle "
    "orange pocket bridge valley mirror basket forest winter ladder copper island meadow "
    "number people station letter music planet coffee engine feather marble rocket"
).split()


def _speech(rng, w, h, rate, seed):
    words = " ".join(rng.choice(_WORDS, size=12))
    voice = ["kal", "slt", "awb", "rms"][int(rng.integers(0, 4))]
    # synthesis costs about 50 ms a word: speak a dozen and loop them; resampled here, in
    # frames the AAC encoder takes (flite speaks at 8 or 16 kHz)
    return (
        f"flite=text='{words}':voice={voice},aloop=loop=-1:size=2000000,"
        f"aresample={rate},asetnsamples=n=1024"
    )


def _clicks(rng, w, h, rate, seed):
    density = _u(rng, 0.0008, 0.002)
    return (
        f"anoisesrc=c=white:r={rate}:a=1:seed={seed},"
        f"aeval=exprs='val(0)*lt(random(0),{density:.5f})*4',volume=3"
    )


def _siren(rng, w, h, rate, seed):
    f0, depth, lfo = _u(rng, 600, 900), _u(rng, 150, 300), _u(rng, 0.3, 0.8)
    return _eval(f"0.4*sin(2*PI*{f0:.1f}*t-{depth / lfo:.1f}*cos(2*PI*{lfo:.2f}*t))", rate)


def _plucks(rng, w, h, rate, seed):
    f, period = _u(rng, 150, 260), _u(rng, 0.25, 0.45)
    return _eval(
        f"0.6*exp(-7*mod(t,{period:.3f}))*sin(2*PI*{f:.1f}*(1+0.5*mod(floor(t/{period:.3f}),3))*t)",
        rate,
    )


def _wind(rng, w, h, rate, seed):
    return (
        f"anoisesrc=c=white:r={rate}:a=0.8:seed={seed},"
        f"bandpass=f={int(rng.integers(500, 1100))}:width_type=q:w=2,"
        f"tremolo=f={_u(rng, 0.15, 0.4):.2f}:d=0.7,volume=4"
    )


def _dtmf(rng, w, h, rate, seed):
    low, high, step = "697,770,852,941".split(","), "1209,1336,1477".split(","), _u(rng, 0.2, 0.3)
    lo = f"({low[0]}+{int(low[1]) - int(low[0])}*mod(floor(t/{step:.2f})*3,4))"
    hi = f"({high[0]}+{int(high[1]) - int(high[0])}*mod(floor(t/{step:.2f})*5,3))"
    return _eval(
        f"0.3*(sin(2*PI*{lo}*t)+sin(2*PI*{hi}*t))*lt(mod(t,{step:.2f}),{0.7 * step:.3f})", rate
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
    Family("testcard", _testcard),
    Family("spectrum", _spectrum),
    Family("chart", _chart),
    Family("plasma", _plasma),
    Family("orbit", _orbit),
    Family("tiles", _tiles),
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
    Family("speech", _speech),
    Family("clicks", _clicks),
    Family("siren", _siren),
    Family("plucks", _plucks),
    Family("wind", _wind),
    Family("dtmf", _dtmf),
)

MAX_CLASSES = min(len(VISUAL_FAMILIES), len(SOUND_FAMILIES))
