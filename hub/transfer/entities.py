"""The engagement-hub/1 format: the entities a file holds, their fields and natural keys.

docs/import-format.md describes the same for people. Rows name each other by natural keys
(slugs, state codes), never by database ids, so a file means the same in every database.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Column, Table

import models
from hub.demo.dataset import NETWORK_NAMES
from hub.slugs import SLUG_PATTERN
from hub.transfer.fields import (
    Field,
    Row,
    as_column,
    choice,
    enumerated,
    linked,
    reference,
    slug,
    stored,
    with_default,
)
from models.geography import LATITUDE_RANGE, LONGITUDE_RANGE, MAX_POPULATION, STATE_CODES

FORMAT = "engagement-hub/1"


@dataclass(frozen=True)
class Entity:
    """One kind of row a file holds: a JSON section, a CSV file."""

    name: str
    model: type[models.Base]
    key: tuple[str, ...]  # the fields that tell its rows apart (the natural key)
    fields: tuple[Field, ...]
    # A table with one row per row of this entity, pointing at it (a city's local network).
    companion: Table | None = None

    @property
    def table(self) -> Table:
        """The entity's own table."""
        return table_of(self.model)

    @property
    def companion_parent(self) -> Column[Any]:
        """The column of the companion table that points at the entity's row."""
        assert self.companion is not None
        return next(
            column
            for column in self.companion.c
            if any(key.column.table is self.table for key in column.foreign_keys)
        )

    @cached_property
    def fields_by_name(self) -> dict[str, Field]:
        """The fields by their names in a file."""
        return {field.name: field for field in self.fields}

    @property
    def reference_column(self) -> Column[Any]:
        """The id other rows store to point at a row of this entity.

        Other rows point at a city through its local network, so that is the city's companion.
        """
        return (self.table if self.companion is None else self.companion).c.id

    def key_of(self, row: Row) -> tuple[Any, ...]:
        """The natural key of `row`."""
        return tuple(row.get(name) for name in self.key)


def table_of(model: type[models.Base]) -> Table:
    """The table a model is mapped to."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def default_network_name(city: Row) -> str:
    """The name of a local network a file does not name: the programme's, with the city's."""
    return NETWORK_NAMES[0].format(name=city["name"])


THEMES = Entity(
    "themes",
    models.Theme,
    key=("slug",),
    fields=(
        slug("slug", models.Theme.slug, SLUG_PATTERN),
        stored("name_de", models.Theme.name_de, not_blank=True),
        stored("name_en", models.Theme.name_en, not_blank=True),
        stored("description", models.Theme.description),
    ),
)

CITIES = Entity(
    "cities",
    models.City,
    key=("slug",),
    fields=(
        slug("slug", models.City.slug, SLUG_PATTERN),
        stored("name", models.City.name, not_blank=True),
        stored("kind", models.City.kind),
        choice("state", models.City.state_code, STATE_CODES),
        stored("population", models.City.population, bounds=(0, MAX_POPULATION)),
        stored("latitude", models.City.latitude, bounds=LATITUDE_RANGE),
        stored("longitude", models.City.longitude, bounds=LONGITUDE_RANGE),
        stored("status", models.City.status),
        stored("joined_on", models.City.joined_on),
        stored("left_on", models.City.left_on),
        stored("description", models.City.description),
        stored("website", models.City.website),
        with_default(
            stored("network.name", models.LocalNetwork.name, not_blank=True),
            default_network_name,
        ),
        stored("network.description", models.LocalNetwork.description),
        stored("network.founded_on", models.LocalNetwork.founded_on),
    ),
    companion=table_of(models.LocalNetwork),
)

STATE_PARTNERSHIPS = Entity(
    "state_partnerships",
    models.StatePartnership,
    key=("state",),
    fields=(
        choice("state", models.StatePartnership.state_code, STATE_CODES),
        stored("institution", models.StatePartnership.institution, not_blank=True),
        stored("focus", models.StatePartnership.focus),
        stored("description", models.StatePartnership.description),
        stored("starts_on", models.StatePartnership.starts_on),
        stored("ends_on", models.StatePartnership.ends_on),
    ),
)

ACTORS = Entity(
    "actors",
    models.Actor,
    key=("slug",),
    fields=(
        slug("slug", models.Actor.slug, SLUG_PATTERN),
        reference("city", models.Actor.network_id, "cities"),
        stored("name", models.Actor.name, not_blank=True),
        stored("organisation_type", models.Actor.organisation_type, not_blank=True),
        enumerated("sector", models.Actor.sector_code, models.SectorCode),
        stored("role", models.Actor.role),
        stored("description", models.Actor.description),
        stored("website", models.Actor.website),
    ),
)

MEASURES = Entity(
    "measures",
    models.Measure,
    key=("slug",),
    fields=(
        slug("slug", models.Measure.slug, SLUG_PATTERN),
        reference("city", models.Measure.network_id, "cities"),
        stored("title", models.Measure.title, not_blank=True),
        stored("description", models.Measure.description),
        reference("theme", models.Measure.theme_id, "themes"),
        stored("starts_on", models.Measure.starts_on),
        stored("ends_on", models.Measure.ends_on),
        linked(
            "actors",
            models.measure_actors.c.measure_id,
            models.measure_actors.c.actor_id,
            "actors",
            # A link row repeats its measure's network, so that its actors share that network.
            link_copies=(
                (models.measure_actors.c.network_id, as_column(models.Measure.network_id)),
            ),
        ),
    ),
)

FUNDERS = Entity(
    "funders",
    models.Funder,
    key=("slug",),
    fields=(
        slug("slug", models.Funder.slug, SLUG_PATTERN),
        stored("name", models.Funder.name, not_blank=True),
        stored("short_name", models.Funder.short_name),
        stored("kind", models.Funder.kind),
        stored("scope", models.Funder.scope),
        stored("description", models.Funder.description),
        stored("website", models.Funder.website),
        linked(
            "states",
            models.FunderState.funder_id,
            models.FunderState.state_code,
            choices=tuple(sorted(STATE_CODES)),
        ),
        linked("themes", models.FunderTheme.funder_id, models.FunderTheme.theme_id, "themes"),
    ),
)

# A funding has no slug: it is told apart by its funder, its recipient, its start and its title.
FUNDINGS = Entity(
    "fundings",
    models.Funding,
    key=(
        "funder",
        "recipient.kind",
        "recipient.city",
        "recipient.measure",
        "recipient.state",
        "starts_on",
        "title",
    ),
    fields=(
        reference("funder", models.Funding.funder_id, "funders"),
        stored("recipient.kind", models.Funding.recipient_kind),
        reference("recipient.city", models.Funding.network_id, "cities"),
        reference("recipient.measure", models.Funding.measure_id, "measures"),
        reference("recipient.state", models.Funding.state_partnership_id, "state_partnerships"),
        stored("contribution_type", models.Funding.contribution_type),
        stored("amount_eur", models.Funding.amount_eur),
        stored("amount_confidential", models.Funding.amount_confidential),
        stored("title", models.Funding.title, not_blank=True),
        stored("description", models.Funding.description),
        reference("theme", models.Funding.theme_id, "themes"),
        stored("starts_on", models.Funding.starts_on),
        stored("ends_on", models.Funding.ends_on),
    ),
)

# In dependency order: a row only names rows of the entities before it.
ENTITIES = (THEMES, CITIES, STATE_PARTNERSHIPS, ACTORS, MEASURES, FUNDERS, FUNDINGS)
ENTITIES_BY_NAME = {entity.name: entity for entity in ENTITIES}
