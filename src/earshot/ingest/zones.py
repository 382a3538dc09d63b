"""The time zone a new case's call records are read in, from its phone numbering region.

Times in telco exports and on a phone's clock carry no offset; read as UTC, a Moscow export
is three hours off without a word. `earshot init` therefore sets the case zone from the
region (``data/region_zones.yaml``: RU → Europe/Moscow) unless told one.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ..errors import ConfigError

__all__ = ["region_zones", "zone_for_region"]


@cache
def region_zones() -> dict[str, str]:
    """Region → zone, validated once (every zone must exist in the tz database)."""
    text = resources.files("earshot.ingest").joinpath("data/region_zones.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    zones = data.get("zones") if isinstance(data, dict) else None
    if not isinstance(zones, dict):
        raise ConfigError("region_zones.yaml: needs a 'zones' mapping")
    for region, zone in zones.items():
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"region_zones.yaml: {region}: unknown time zone {zone!r}") from None
    return {str(k).upper(): str(v) for k, v in zones.items()}


def zone_for_region(region: str) -> str | None:
    """The default zone for `region`, or None where one zone cannot be assumed."""
    return region_zones().get(region.strip().upper())
