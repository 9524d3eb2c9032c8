"""Filter inputs and orderings of the connections; each turns itself into SQL for both paths."""

import enum
from datetime import date
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import ColumnElement, exists, or_, select

import models
import schema.enums  # noqa: F401  (registers the models' enums with strawberry)
from models.geography import STATE_CODES
from resolvers.errors import bad_input
from resolvers.expressions import (
    CITY_SECTOR_COUNT,
    FUNDING_CITIES,
    PUBLIC_AMOUNT,
    composition_of,
    distance_km,
)
from resolvers.search import matches_text


def state_codes(codes: list[str]) -> list[str]:
    """The codes upper-cased, refusing any that is not a federal state."""
    upper = [code.upper() for code in codes]
    unknown = sorted(set(upper) - STATE_CODES)
    if unknown:
        raise bad_input(f"Unknown state codes {unknown}; known: {sorted(STATE_CODES)}.")
    return upper


def period(start: date | None, end: date | None, label: str) -> None:
    """Refuse a period that ends before it starts."""
    if start is not None and end is not None and end < start:
        raise bad_input(f"{label}: the end ({end}) lies before the start ({start}).")


def overlaps(starts_on: Any, ends_on: Any, start: date | None, end: date | None) -> list[Any]:
    """SQL: a row's period (open-ended while `ends_on` is null) overlaps [start, end]."""
    conditions = []
    if start is not None:
        conditions.append(or_(ends_on.is_(None), ends_on >= start))
    if end is not None:
        conditions.append(starts_on <= end)
    return conditions


@strawberry.input(description="A circle on the map: a point and a radius in kilometres.")
class GeoCircle:
    lat: float = strawberry.field(description="Latitude of the centre, in degrees (WGS 84).")
    lon: float = strawberry.field(description="Longitude of the centre, in degrees (WGS 84).")
    radius_km: float = strawberry.field(
        description="Radius in kilometres (more than 0, at most 1,000)."
    )

    def condition(self) -> ColumnElement[bool]:
        """SQL: the city lies within the circle."""
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise bad_input("near: lat must lie in [-90, 90] and lon in [-180, 180].")
        if not 0 < self.radius_km <= 1000:
            raise bad_input("near: radiusKm must be more than 0 and at most 1000.")
        return distance_km(self.lat, self.lon) <= self.radius_km


@strawberry.input(description="Conditions on cities; all given conditions must hold.")
class CityFilter:
    states: list[str] | None = strawberry.field(
        default=None, description='In one of these states (codes, e.g. `["NW", "RP"]`).'
    )
    kinds: list[models.CityKind] | None = strawberry.field(
        default=None, description="Of one of these kinds."
    )
    statuses: list[models.MembershipStatus] | None = strawberry.field(
        default=None, description="With one of these membership statuses."
    )
    sectors_present: list[models.SectorCode] | None = strawberry.field(
        default=None, description="Whose local network has actors from all of these sectors."
    )
    compositions: list[models.SectorComposition] | None = strawberry.field(
        default=None, description="Whose local network has one of these sector compositions."
    )
    joined_from: date | None = strawberry.field(
        default=None, description="Joined the network on or after this day."
    )
    joined_until: date | None = strawberry.field(
        default=None, description="Joined the network on or before this day."
    )
    text: str | None = strawberry.field(
        default=None, description="Name or description matches (German stemming)."
    )
    near: GeoCircle | None = strawberry.field(default=None, description="Lies within this circle.")

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on `cities`."""
        city = models.City
        period(self.joined_from, self.joined_until, "joinedFrom/joinedUntil")
        conditions: list[Any] = []
        if self.states is not None:
            conditions.append(city.state_code.in_(state_codes(self.states)))
        if self.kinds is not None:
            conditions.append(city.kind.in_(self.kinds))
        if self.statuses is not None:
            conditions.append(city.status.in_(self.statuses))
        # One condition per distinct sector: a list repeating them must not cost more.
        for sector in sorted(set(self.sectors_present or ()), key=lambda sector: sector.value):
            conditions.append(
                exists(_network_actors().where(models.Actor.sector_code == sector.value))
            )
        if self.compositions is not None:
            wanted = [composition.value for composition in self.compositions]
            conditions.append(composition_of(CITY_SECTOR_COUNT).in_(wanted))
        if self.joined_from is not None:
            conditions.append(city.joined_on >= self.joined_from)
        if self.joined_until is not None:
            conditions.append(city.joined_on <= self.joined_until)
        if self.text:
            conditions.append(matches_text(city, self.text))
        if self.near is not None:
            conditions.append(self.near.condition())
        return conditions


def _network_actors() -> Any:
    """SELECT the actors of the city's local network (correlated to `cities`)."""
    return (
        select(models.Actor.id)
        .join(models.LocalNetwork, models.LocalNetwork.id == models.Actor.network_id)
        .where(models.LocalNetwork.city_id == models.City.id)
    )


@strawberry.input(description="Conditions on actors; all given conditions must hold.")
class ActorFilter:
    sectors: list[models.SectorCode] | None = strawberry.field(
        default=None, description="From one of these sectors."
    )
    roles: list[models.ActorRole] | None = strawberry.field(
        default=None, description="With one of these roles in their network."
    )
    text: str | None = strawberry.field(
        default=None, description="Name or description matches (German stemming)."
    )

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on `actors`."""
        actor = models.Actor
        conditions: list[Any] = []
        if self.sectors is not None:
            conditions.append(actor.sector_code.in_([sector.value for sector in self.sectors]))
        if self.roles is not None:
            conditions.append(actor.role.in_(self.roles))
        if self.text:
            conditions.append(matches_text(actor, self.text))
        return conditions


@strawberry.input(description="Conditions on measures; all given conditions must hold.")
class MeasureFilter:
    themes: list[str] | None = strawberry.field(
        default=None, description="About one of these themes (slugs)."
    )
    active_from: date | None = strawberry.field(
        default=None, description="Running on or after this day."
    )
    active_until: date | None = strawberry.field(
        default=None, description="Running on or before this day."
    )
    text: str | None = strawberry.field(
        default=None, description="Title or description matches (German stemming)."
    )

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on `measures`."""
        measure = models.Measure
        period(self.active_from, self.active_until, "activeFrom/activeUntil")
        conditions: list[Any] = overlaps(
            measure.starts_on, measure.ends_on, self.active_from, self.active_until
        )
        if self.themes is not None:
            conditions.append(measure.theme_id.in_(_theme_ids(self.themes)))
        if self.text:
            conditions.append(matches_text(measure, self.text))
        return conditions


def _theme_ids(slugs: list[str]) -> Any:
    """SELECT the ids of the themes with these slugs."""
    return select(models.Theme.id).where(models.Theme.slug.in_(slugs))


@strawberry.input(description="Conditions on funders; all given conditions must hold.")
class FunderFilter:
    kinds: list[models.FunderKind] | None = strawberry.field(
        default=None, description="Of one of these kinds."
    )
    scopes: list[models.FunderScope] | None = strawberry.field(
        default=None, description="Acting in one of these scopes."
    )
    themes: list[str] | None = strawberry.field(
        default=None, description="Supporting one of these themes (slugs)."
    )
    states: list[str] | None = strawberry.field(
        default=None,
        description="Active in one of these states (codes); nationwide funders count everywhere.",
    )
    text: str | None = strawberry.field(
        default=None, description="Name or description matches (German stemming)."
    )

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on `funders`."""
        funder = models.Funder
        conditions: list[Any] = []
        if self.kinds is not None:
            conditions.append(funder.kind.in_(self.kinds))
        if self.scopes is not None:
            conditions.append(funder.scope.in_(self.scopes))
        if self.themes is not None:
            themed = select(models.FunderTheme.funder_id).where(
                models.FunderTheme.theme_id.in_(_theme_ids(self.themes))
            )
            conditions.append(funder.id.in_(themed))
        if self.states is not None:
            regional = select(models.FunderState.funder_id).where(
                models.FunderState.state_code.in_(state_codes(self.states))
            )
            conditions.append(
                or_(funder.scope == models.FunderScope.NATIONWIDE, funder.id.in_(regional))
            )
        if self.text:
            conditions.append(matches_text(funder, self.text))
        return conditions


@strawberry.input(description="Conditions on fundings; all given conditions must hold.")
class FundingFilter:
    contribution_types: list[models.ContributionType] | None = strawberry.field(
        default=None, description="Of one of these contribution types."
    )
    themes: list[str] | None = strawberry.field(
        default=None, description="About one of these themes (slugs)."
    )
    active_from: date | None = strawberry.field(
        default=None, description="Running on or after this day (the periods overlap)."
    )
    active_until: date | None = strawberry.field(
        default=None, description="Running on or before this day (the periods overlap)."
    )
    funders: list[str] | None = strawberry.field(
        default=None, description="From one of these funders (slugs)."
    )
    recipient_states: list[str] | None = strawberry.field(
        default=None, description="Reaching a city, or a state partnership, in one of these states."
    )
    funder_kinds: list[models.FunderKind] | None = strawberry.field(
        default=None, description="From a funder of one of these kinds."
    )
    min_amount_eur: Decimal | None = strawberry.field(
        default=None,
        description="Financial fundings of at least this many euros; confidential amounts "
        "count as unknown, so that no filter reveals them.",
    )

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on `fundings`."""
        funding = models.Funding
        period(self.active_from, self.active_until, "activeFrom/activeUntil")
        conditions: list[Any] = overlaps(
            funding.starts_on, funding.ends_on, self.active_from, self.active_until
        )
        if self.contribution_types is not None:
            conditions.append(funding.contribution_type.in_(self.contribution_types))
        if self.themes is not None:
            conditions.append(funding.theme_id.in_(_theme_ids(self.themes)))
        if self.funders is not None:
            funder_ids = select(models.Funder.id).where(models.Funder.slug.in_(self.funders))
            conditions.append(funding.funder_id.in_(funder_ids))
        if self.recipient_states is not None:
            conditions.append(_reaches_states(state_codes(self.recipient_states)))
        if self.funder_kinds is not None:
            of_kinds = select(models.Funder.id).where(models.Funder.kind.in_(self.funder_kinds))
            conditions.append(funding.funder_id.in_(of_kinds))
        if self.min_amount_eur is not None:
            amount = self.min_amount_eur
            if not (amount.is_finite() and 0 <= amount < AMOUNT_LIMIT):
                raise bad_input(f"minAmountEur must be at least 0 and less than {AMOUNT_LIMIT:f}.")
            conditions.append(amount <= PUBLIC_AMOUNT)
        return conditions


# Above the largest amount `fundings.amount_eur` holds: a larger bound would overflow the
# column's type in SQL (an internal error, though the client's mistake).
AMOUNT_LIMIT = Decimal(10) ** (
    models.Funding.amount_eur.type.precision - models.Funding.amount_eur.type.scale
)


def _reaches_states(codes: list[str]) -> ColumnElement[bool]:
    """SQL: the funding reaches a city, or a state partnership, in one of the states."""
    funding = models.Funding
    in_cities = (
        select(FUNDING_CITIES.c.funding_id)
        .join(models.City, models.City.id == FUNDING_CITIES.c.city_id)
        .where(models.City.state_code.in_(codes))
    )
    in_partnerships = select(models.StatePartnership.id).where(
        models.StatePartnership.state_code.in_(codes)
    )
    return or_(funding.id.in_(in_cities), funding.state_partnership_id.in_(in_partnerships))


@strawberry.enum(description="Orders of cities.")
class CityOrder(enum.Enum):
    NAME = strawberry.enum_value("name", description="By name, A to Z (the default).")
    POPULATION_DESC = strawberry.enum_value(
        "population_desc", description="Most inhabitants first."
    )
    JOINED_ON = strawberry.enum_value("joined_on", description="Earliest members first.")
    JOINED_ON_DESC = strawberry.enum_value("joined_on_desc", description="Newest members first.")

    def ordering(self) -> tuple[Any, ...]:
        """SQL ORDER BY terms (nulls last; ties are broken by the relation's own order)."""
        city = models.City
        return {
            CityOrder.NAME: (city.name,),
            CityOrder.POPULATION_DESC: (city.population.desc().nulls_last(),),
            CityOrder.JOINED_ON: (city.joined_on.asc().nulls_last(),),
            CityOrder.JOINED_ON_DESC: (city.joined_on.desc().nulls_last(),),
        }[self]


@strawberry.enum(description="Orders of fundings.")
class FundingOrder(enum.Enum):
    STARTS_ON_DESC = strawberry.enum_value(
        "starts_on_desc", description="Newest first (the default)."
    )
    STARTS_ON = strawberry.enum_value("starts_on", description="Oldest first.")
    AMOUNT_DESC = strawberry.enum_value(
        "amount_desc",
        description="Largest financial amount first; confidential amounts last, as unknown.",
    )

    def ordering(self) -> tuple[Any, ...]:
        """SQL ORDER BY terms."""
        funding = models.Funding
        return {
            FundingOrder.STARTS_ON_DESC: (funding.starts_on.desc(),),
            FundingOrder.STARTS_ON: (funding.starts_on,),
            FundingOrder.AMOUNT_DESC: (PUBLIC_AMOUNT.desc().nulls_last(),),
        }[self]
