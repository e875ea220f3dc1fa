-- materialized: view
-- description: Every registered manifest row, with the shard it was assigned to.
-- tests:
--   - unique: source_key
--   - not_null: [video_id, source, shard]
select
    shard || '/' || video_id as source_key,
    *
from {{ source('sources') }}
