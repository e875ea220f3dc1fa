-- materialized: table
-- description: Counts of outcomes by stage, status and reason, per shard - the first place to look when a shard goes wrong.
-- tests:
--   - not_null: [shard, stage, status, n]
--   - accepted_values: {column: stage, values: [videos, embeddings]}
select shard, 'videos' as stage, status, coalesce(reason, '') as reason, count(*) as n
from {{ ref('stg_videos') }}
group by all
union all
select shard, 'embeddings' as stage, status, coalesce(reason, '') as reason, count(*) as n
from {{ ref('stg_embeddings') }}
group by all
