"""Curation: clusterings, their assignments, per-shard selection and the global merge."""
