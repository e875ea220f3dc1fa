-- materialized: view
-- description: Clips of each curated export (the shard key of the exports table is the export name).
-- tests:
--   - unique: export_key
--   - not_null: [clip_id, rank]
select
    shard as export_name,
    shard || '/' || clip_id as export_key,
    clip_id,
    rank,
    exported_at,
    run_id,
    code_version
from {{ source('exports') }}
