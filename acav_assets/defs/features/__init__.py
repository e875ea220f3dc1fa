"""Features: multi-layer audio and visual embeddings of every clip of a shard."""
