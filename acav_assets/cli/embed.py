"""``acav embed``: the embedding assets of every ingested shard that lacks the current
extractor versions, through the shard job (on the GPU where there is one)."""

from __future__ import annotations

import os
from collections import Counter
from typing import Annotated

import typer

from acav_assets.cli.app import app
from acav_assets.cli.common import (
    HomeOption,
    operational,
    opt,
    print_summary,
    stage_bar,
)
from acav_assets.cli.pipeline import checked, materialized, runner
from acav_assets.core.features.options import FeatureOptions as Features

NONE = "none"


@app.command("embed")
def embed(
    home: HomeOption = None,
    audio: Annotated[
        str, opt(Features, "audio_extractor", "--audio", help_suffix=" 'none': no audio.")
    ] = Features.audio_extractor,
    visual: Annotated[
        str, opt(Features, "visual_extractor", "--visual", help_suffix=" 'none': no visual.")
    ] = Features.visual_extractor,
    audio_weights: Annotated[str | None, opt(Features, "audio_weights")] = Features.audio_weights,
    visual_weights: Annotated[
        str | None, opt(Features, "visual_weights")
    ] = Features.visual_weights,
    weights_cache: Annotated[str | None, opt(Features, "weights_cache")] = Features.weights_cache,
    shard: Annotated[
        list[str] | None, typer.Option(help="Only this shard (repeatable); default: all pending.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Recompute shards already embedded.")] = False,
    batch_size: Annotated[int, opt(Features, "batch_size", min=1)] = Features.batch_size,
    num_workers: Annotated[int, opt(Features, "num_workers", min=0)] = Features.num_workers,
    device: Annotated[str, opt(Features, "device")] = Features.device,
    precision: Annotated[str, opt(Features, "precision")] = Features.precision,
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="CPU threads for the networks (default: cores not decoding)."),
    ] = None,
) -> None:
    """Compute the audio and visual embeddings of every ingested shard that lacks them."""
    import torch

    from acav_assets.core.features import FeatureOptions
    from acav_assets.defs.features.assets import MODALITY_ASSETS
    from acav_assets.defs.local import embed_pending

    modalities = tuple(m for m, name in (("audio", audio), ("visual", visual)) if name != NONE)
    if not modalities:
        raise typer.BadParameter("both extractors are 'none': nothing to do", param_hint="--audio")
    options = FeatureOptions(
        audio_extractor=audio, visual_extractor=visual, audio_weights=audio_weights,
        visual_weights=visual_weights, weights_cache=weights_cache, batch_size=batch_size,
        num_workers=num_workers, device=device, precision=precision,
    )  # fmt: skip
    checked(lambda: options.validate(modalities))
    # one core per decoding worker, the rest for the networks: oversubscribed threads spin
    torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) - num_workers))
    with stage_bar() as stage:
        run = runner(home, [], stage)
        shards, results = operational(lambda: embed_pending(run, options, modalities, shard, force))
    counters: Counter = Counter()
    for key in MODALITY_ASSETS.values():
        for metadata in materialized(results, key):
            name = metadata["extractor"]
            counters.update(
                {f"{name}.{k}": v for k, v in metadata.items() if isinstance(v, int | float)}
            )
    clips = sum(v for k, v in counters.items() if k.endswith(".total"))
    print_summary({"shards": shards, "clips": clips, **dict(sorted(counters.items()))})
