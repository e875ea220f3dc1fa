"""One tick of the manifest sensor against an instance, as the daemon would run it."""

from __future__ import annotations

import dagster as dg

from acav_assets.defs.media.sensors import new_manifest_sensor
from acav_assets.defs.resources import AcavHome


def manifest_tick(instance: dg.DagsterInstance, acav: AcavHome, cursor: str | None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"acav": acav})
    return new_manifest_sensor(context)
