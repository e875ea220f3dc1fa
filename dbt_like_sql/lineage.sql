-- materialized: table
-- description: Where every exported clip came from - clip, video, source manifest and line, shard, the runs and code versions that made them.
-- tests:
--   - unique: export_key
--   - not_null: [clip_id, video_id, shard, source]
--   - relationships: {column: clip_id, to: stg_clips, field: clip_id}
select
    e.export_key,
    e.export_name,
    e.rank,
    e.clip_id,
    c.start_s,
    c.end_s,
    c.strategy,
    v.video_id,
    v.url,
    v.path,
    v.sha256,
    c.shard,
    s.source,
    s.source_sha256,
    s.line as source_line,
    v.run_id as ingest_run_id,
    v.code_version as ingest_code_version,
    e.run_id as export_run_id,
    e.code_version as export_code_version
from {{ ref('stg_exports') }} as e
left join {{ ref('stg_clips') }} as c on c.clip_id = e.clip_id
left join {{ ref('stg_videos') }} as v on v.video_key = c.video_key
left join {{ ref('stg_sources') }} as s on s.source_key = c.video_key
