"""Publishing: the curated dataset in the ACAV100M form, and the report a person reads."""
