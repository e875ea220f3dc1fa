"""Pure libraries behind acav: no Dagster, no environment variables, no printing."""
