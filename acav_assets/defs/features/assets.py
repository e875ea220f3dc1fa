"""``audio_embeddings`` and ``visual_embeddings`` of a shard, on a GPU pod when there is one.

One step computes the selected modalities and writes the shard's ``embeddings`` status rows
once, so the two never race on that file; each modality stays its own asset and check.
"""

from collections.abc import Iterator

import dagster as dg

from acav_assets.core.features import (
    EmbeddingStore,
    FeatureOptions,
    embed_shards,
    embedding_defects,
    get_extractor,
)
from acav_assets.defs.config import config_class, to_options
from acav_assets.defs.execution import k8s_op_tags
from acav_assets.defs.partitions import SHARD_BACKFILL, shard_partitions
from acav_assets.defs.progress import log_progress
from acav_assets.defs.resources import AcavHome
from acav_assets.defs.retries import GPU_RETRY, not_retried

FEATURES_CODE_VERSION = "1"
MODALITY_ASSETS = {"audio": "audio_embeddings", "visual": "visual_embeddings"}
CHECK_NAME = "embeddings_are_finite_and_varied"


EmbeddingConfig = config_class(FeatureOptions, name="EmbeddingConfig")


def _spec(modality: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        MODALITY_ASSETS[modality],
        deps=["clips"],
        group_name="features",
        description=f"Pooled {modality} embeddings of every clip, five layers, float16.",
        code_version=FEATURES_CODE_VERSION,
        kinds={"pytorch", "numpy"},
        skippable=True,
    )


@dg.multi_asset(
    specs=[_spec("audio"), _spec("visual")],
    check_specs=[
        dg.AssetCheckSpec(CHECK_NAME, asset=key, blocking=True) for key in MODALITY_ASSETS.values()
    ],
    can_subset=True,
    partitions_def=shard_partitions,
    backfill_policy=SHARD_BACKFILL,
    # Scratch disk: with the root in a bucket the shard's videos are copied here to decode;
    # shared memory: the decoded batches come from the DataLoader workers through /dev/shm.
    op_tags=k8s_op_tags(
        cpu="4", memory="16Gi", gpu=1, ephemeral_storage="50Gi", shared_memory="2Gi"
    ),
    pool="gpu",
    retry_policy=GPU_RETRY,
)
def embedded_shard(
    context: dg.AssetExecutionContext, acav: AcavHome, config: EmbeddingConfig
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    shard = context.partition_key
    options = to_options(config, FeatureOptions)
    selected = {k.to_user_string() for k in context.selected_asset_keys}
    modalities = [m for m, key in MODALITY_ASSETS.items() if key in selected]
    with not_retried(ValueError, FileNotFoundError):
        extractors = {
            m: get_extractor(
                options.extractor(m),
                weights=options.weights(m),
                cache_dir=options.weights_cache,
                precision=options.precision,
            )
            for m in modalities
        }
    root = acav.storage()
    has_clips = shard in acav.tables().shards("clips")
    summary = {}
    if has_clips:
        summary = embed_shards(
            root,
            list(extractors.values()),
            shards=[shard],
            force=True,
            batch_size=options.batch_size,
            num_workers=options.num_workers,
            device=options.device,
            progress=log_progress(context, "embedding clips"),
            run_id=context.run.run_id,
        )
    store = EmbeddingStore(root)
    for modality, extractor in extractors.items():
        key = MODALITY_ASSETS[modality]
        prefix = f"{extractor.name}."
        counters = {k[len(prefix) :]: v for k, v in summary.items() if k.startswith(prefix)}
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "extractor": extractor.name,
                "extractor_version": extractor.version,
                "layers": dg.MetadataValue.json({n: d for n, d in extractor.layers}),
                **counters,
            },
            data_version=dg.DataVersion(extractor.version),
        )
        defects = embedding_defects(store, extractor.name, shard) if has_clips else {}
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=CHECK_NAME,
            passed=defects.get("non_finite", 0) == 0 and defects.get("constant", 0) == 0,
            metadata=defects,
        )
