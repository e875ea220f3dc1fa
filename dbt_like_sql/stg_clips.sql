-- materialized: view
-- description: Clip windows of the ingested videos.
-- tests:
--   - unique: clip_key
--   - not_null: [clip_id, video_id, start_s, end_s]
--   - relationships: {column: video_key, to: stg_videos, field: video_key}
select
    shard || '/' || clip_id as clip_key,
    shard || '/' || video_id as video_key,
    *,
    end_s - start_s as duration_s
from {{ source('clips') }}
