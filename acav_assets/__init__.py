"""acav: curate audio-visual datasets from uncurated video, as a Dagster asset platform."""

__version__ = "0.1.0"
