-- materialized: view
-- description: Per clip and extractor, whether its embeddings were computed, and why not.
-- tests:
--   - unique: embedding_key
--   - not_null: [clip_id, extractor, status]
--   - accepted_values: {column: status, values: [ok, failed]}
select
    shard || '/' || clip_id || '/' || extractor as embedding_key,
    *
from {{ source('embeddings') }}
