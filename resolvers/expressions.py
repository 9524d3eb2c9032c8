"""SQL expressions the schema's fields and filters share: sector composition, distance, text."""

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
    select,
    union_all,
)

import models

EARTH_RADIUS_KM = 6371.0088

# How many distinct sectors the actors of each local network come from.
NETWORK_SECTOR_COUNT = (
    select(func.count(distinct(models.Actor.sector_code)))
    .where(models.Actor.network_id == models.LocalNetwork.id)
    .correlate(models.LocalNetwork)
    .scalar_subquery()
)


def composition_of(sector_count: ColumnElement[Any]) -> ColumnElement[str]:
    """The composition class (`models.SectorComposition` value) of a sector count."""
    classes = models.SectorComposition
    return case(
        (sector_count == 0, classes.NONE.value),
        (sector_count == 1, classes.MONOSECTORAL.value),
        (sector_count == 2, classes.BISECTORAL.value),
        (sector_count == 3, classes.TRISECTORAL.value),
        else_=classes.MULTISECTORAL.value,
    )


NETWORK_COMPOSITION = composition_of(NETWORK_SECTOR_COUNT)

# The same figures for a city, through its local network.
CITY_SECTOR_COUNT = (
    select(func.count(distinct(models.Actor.sector_code)))
    .join(models.LocalNetwork, models.LocalNetwork.id == models.Actor.network_id)
    .where(models.LocalNetwork.city_id == models.City.id)
    .correlate(models.City)
    .scalar_subquery()
)


def distance_km(latitude: float, longitude: float) -> ColumnElement[float]:
    """Great-circle distance (haversine) from a point to each city, in kilometres."""
    city_lat, city_lon = func.radians(models.City.latitude), func.radians(models.City.longitude)
    lat, lon = func.radians(literal(latitude)), func.radians(literal(longitude))
    half_chord = func.power(func.sin((city_lat - lat) / 2), 2) + func.cos(lat) * func.cos(
        city_lat
    ) * func.power(func.sin((city_lon - lon) / 2), 2)
    return cast(2 * EARTH_RADIUS_KM * func.asin(func.sqrt(half_chord)), Float)


# Partner pairs are stored once (lower id first); traversal needs both directions.
_pairs = models.CityPartnership
PARTNER_PAIRS = union_all(
    select(_pairs.city_id.label("city_id"), _pairs.partner_city_id.label("partner_id")),
    select(_pairs.partner_city_id.label("city_id"), _pairs.city_id.label("partner_id")),
).subquery("partner_pairs")

# The city each funding reaches: its local network's, or its measure's network's. A funding
# has one recipient, so the branches never overlap; each follows indexed keys, so a condition
# on `city_id` or `funding_id` is pushed into both and reads a few index entries, not every
# funding (a join on `coalesce(network_id, measure's network)` could use no index).
_Funding, _Network, _Measure = models.Funding, models.LocalNetwork, models.Measure
_FUNDING_CITY_COLUMNS = (
    _Funding.id.label("funding_id"),
    _Funding.funder_id.label("funder_id"),
    _Network.city_id.label("city_id"),
)
FUNDING_CITIES = union_all(
    select(*_FUNDING_CITY_COLUMNS).join(_Network, _Network.id == _Funding.network_id),
    select(*_FUNDING_CITY_COLUMNS)
    .join(_Measure, _Measure.id == _Funding.measure_id)
    .join(_Network, _Network.id == _Measure.network_id),
).subquery("funding_cities")

# The funders of each city: distinct funders of its network or of the network's measures.
CITY_FUNDERS = (
    select(FUNDING_CITIES.c.city_id, FUNDING_CITIES.c.funder_id).distinct().subquery("city_funders")
)

# The distinct sectors present among each network's actors.
NETWORK_SECTORS = (
    select(models.Actor.network_id, models.Actor.sector_code).distinct().subquery("network_sectors")
)

# A funding's amount as the public sees it: none where the funder keeps it confidential.
PUBLIC_AMOUNT = case((models.Funding.amount_confidential, null()), else_=models.Funding.amount_eur)
