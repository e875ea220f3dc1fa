"""Dagster definitions, grouped by domain; each asset calls into ``acav_assets.core``."""
