"""Ingestion: a shard's videos fetched, probed, filtered, and cut into clip windows."""
