"""One dynamic partition per shard of a source manifest (about 1,000 videos), never one per
video or clip: Dagster's UI and storage are not built for millions of partitions."""

import dagster as dg

shard_partitions = dg.DynamicPartitionsDefinition(name="shards")

# Each shard is independent, heavy work (downloads, a GPU pass): one run per shard lets a
# backfill fan out over as many pods as the cluster grants, and a failed shard retries alone.
SHARD_BACKFILL = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)

# One partition per merge group: ``merge_group_shards`` consecutive shards of one manifest
# whose winners one step merges (core/selection/sharded.py), about 1/100 of the shards.
merge_group_partitions = dg.DynamicPartitionsDefinition(name="merge_groups")
