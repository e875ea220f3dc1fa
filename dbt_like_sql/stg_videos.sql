-- materialized: view
-- description: One row per video and shard, with its ingestion outcome.
-- tests:
--   - unique: video_key
--   - not_null: [video_id, shard, status]
--   - accepted_values: {column: status, values: [ok, failed, filtered, duplicate, deferred]}
select
    shard || '/' || video_id as video_key,
    *
from {{ source('videos') }}
