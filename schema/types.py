"""The object types of the three network levels, each backed by one model.

Plain fields read the model's column of the same name; every other field names its SQL source
(a relation, a link or a computed expression) right where it is declared.
"""

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry.relay import to_base64

import models as m
from resolvers import access
from resolvers import expressions as sql
from resolvers.context import Info
from resolvers.permissions import guarded
from resolvers.sources import Computed, Relation, Variant
from resolvers.statistics import Scope
from schema.contracts import INTERNAL
from schema.enums import (
    ActorRole,
    CityKind,
    ContributionType,
    FunderKind,
    FunderScope,
    MembershipStatus,
    RecipientKind,
    SectorCode,
    SectorComposition,
)
from schema.fields import SOURCE, computed, connection, to_list, to_one
from schema.filters import (
    ActorFilter,
    CityFilter,
    CityOrder,
    FunderFilter,
    FundingFilter,
    FundingOrder,
    MeasureFilter,
)
from schema.node import MappedNode
from schema.statistics import Statistics


def described(description: str) -> Any:
    """A plain field, read from the model's column of the same name."""
    return strawberry.field(description=description)


@strawberry.type(
    description="A person to contact at a city, actor, funder, state partnership or applicant. "
    "Personal data: only admins and those whose scope it belongs to see it.",
    directives=INTERNAL,
)
class ContactPerson:
    full_name: str = described("The person's full name.")
    function: str | None = described("The person's function, e.g. `Koordinatorin`.")
    email: str = described("The person's e-mail address.")
    phone: str | None = described("The person's phone number.")

    @strawberry.field(
        description="The contact person's ID, for `updateContactPerson` and "
        "`removeContactPerson`; contact persons are no nodes (`node(id:)` finds none)."
    )
    def id(self, root: strawberry.Parent[m.ContactPerson]) -> strawberry.ID:
        return strawberry.ID(to_base64("ContactPerson", root.id))


def contacts_field(owner_key: Any, contact_key: Any, rule: access.ReadRule, whose: str) -> Any:
    """The contact persons of a row, guarded by `rule`."""
    return to_list(
        Relation(m.ContactPerson, owner_key, contact_key, order_by=(m.ContactPerson.full_name,)),
        "ContactPerson",
        f"Contact persons of {whose}; null with a FORBIDDEN error for viewers who may not see "
        "personal data of it.",
        guarded(owner_key.class_, rule),
    )


# --- Level 2: the nationwide city network --------------------------------------------------


@strawberry.federation.type(keys=["id", "code"], description="A German federal state (Bundesland).")
class State(MappedNode, model=m.State):
    code: str = described("ISO 3166-2:DE code without the `DE-` prefix, e.g. `NW`.")
    iso_code: str = described("Full ISO 3166-2 code, e.g. `DE-NW`.")
    name: str = described("German name, e.g. `Nordrhein-Westfalen`.")
    name_en: str = described("English name, e.g. `North Rhine-Westphalia`.")
    capital: str = described("The state's capital (Landeshauptstadt).")
    cities = connection(
        Relation(m.City, m.State.code, m.City.state_code, order_by=(m.City.name,)),
        "City",
        "The network's cities in this state.",
        CityFilter,
        CityOrder,
    )
    partnership = to_one(
        Relation(m.StatePartnership, m.State.code, m.StatePartnership.state_code),
        "StatePartnership",
        "The state's partnership with the network (Landespartnerschaft), if it joined.",
    )
    funders = connection(
        Relation(
            m.Funder,
            m.State.code,
            m.FunderState.state_code,
            link=(m.FunderState, m.FunderState.funder_id == m.Funder.id),
            order_by=(m.Funder.name,),
        ),
        "Funder",
        "Funders acting regionally in this state (nationwide funders are not listed).",
        FunderFilter,
    )

    @strawberry.field(
        description="Figures about the state: its cities with their networks and actors, and "
        "the fundings that reach it."
    )
    def statistics(self, root: strawberry.Parent[m.State]) -> Statistics:
        return Statistics(scope=Scope(state_code=root.code))


@strawberry.federation.type(
    keys=["id"],
    description="A state's partnership with the network (Landespartnerschaft): an institution "
    "of the state that strengthens regional structures.",
)
class StatePartnership(MappedNode, model=m.StatePartnership):
    contacts = contacts_field(
        m.StatePartnership.id,
        m.ContactPerson.state_partnership_id,
        access.sees_partnership_contacts,
        "the partnership",
    )
    institution: str = described("The state's institution, e.g. its state chancellery.")
    focus: str = described("What the partnership concentrates on.")
    description: str = described("More about the partnership.")
    starts_on: date = described("When the partnership began.")
    ends_on: date | None = described("When it ended; null while it lasts.")
    state = to_one(
        Relation(m.State, m.StatePartnership.state_code, m.State.code),
        "State",
        "The partner state.",
        required=True,
    )
    fundings = connection(
        Relation(
            m.Funding,
            m.StatePartnership.id,
            m.Funding.state_partnership_id,
            order_by=(m.Funding.starts_on.desc(),),
        ),
        "Funding",
        "Fundings that go to this state partnership.",
        FundingFilter,
        FundingOrder,
    )


@strawberry.federation.type(
    keys=["id", "slug"],
    description="A city, municipality, district or county of the network (Engagierte Stadt).",
)
class City(MappedNode, model=m.City):
    contacts = contacts_field(
        m.City.id, m.ContactPerson.city_id, access.sees_city_contacts, "the city"
    )
    slug: str = described("Unique URL-safe name: lower-case ASCII, ä→ae, ö→oe, ü→ue, ß→ss.")
    name: str = described("The official name, e.g. `Dessau-Roßlau`.")
    kind: CityKind = described("Kind of municipality.")
    population: int | None = described("Number of inhabitants, where known.")
    latitude: float | None = described("Latitude in degrees (WGS 84).")
    longitude: float | None = described("Longitude in degrees (WGS 84).")
    status: MembershipStatus = described("Membership status in the network.")
    joined_on: date | None = described("When the city joined the network.")
    left_on: date | None = described(
        "When a former member left the network; null for others, and where not known."
    )
    description: str = described("A short description of the city's engagement.")
    website: str | None = described("The city's website about its engagement, if any.")
    state = to_one(
        Relation(m.State, m.City.state_code, m.State.code),
        "State",
        "The federal state the city lies in.",
        required=True,
    )
    local_network = to_one(
        Relation(m.LocalNetwork, m.City.id, m.LocalNetwork.city_id),
        "LocalNetwork",
        "The city's local network of actors (lokales Netzwerk).",
    )
    partner_cities = connection(
        Relation(
            m.City,
            m.City.id,
            sql.PARTNER_PAIRS.c.city_id,
            link=(sql.PARTNER_PAIRS, sql.PARTNER_PAIRS.c.partner_id == m.City.id),
            order_by=(m.City.name,),
        ),
        "City",
        "Cities this city exchanges with as partners (Partnerstädte).",
        CityFilter,
        CityOrder,
    )
    working_groups = connection(
        Relation(
            m.WorkingGroup,
            m.City.id,
            m.WorkingGroupMembership.city_id,
            link=(
                m.WorkingGroupMembership,
                m.WorkingGroupMembership.working_group_id == m.WorkingGroup.id,
            ),
            order_by=(m.WorkingGroup.name,),
        ),
        "WorkingGroup",
        "The nationwide working groups the city takes part in.",
    )
    fundings = connection(
        Relation(
            m.Funding,
            m.City.id,
            sql.FUNDING_CITIES.c.city_id,
            link=(sql.FUNDING_CITIES, sql.FUNDING_CITIES.c.funding_id == m.Funding.id),
            order_by=(m.Funding.starts_on.desc(),),
        ),
        "Funding",
        "Fundings that reach the city: to its local network or to the network's measures.",
        FundingFilter,
        FundingOrder,
    )
    funders = connection(
        Relation(
            m.Funder,
            m.City.id,
            sql.CITY_FUNDERS.c.city_id,
            link=(sql.CITY_FUNDERS, sql.CITY_FUNDERS.c.funder_id == m.Funder.id),
            order_by=(m.Funder.name,),
        ),
        "Funder",
        "Funders supporting the city's local network or its measures.",
        FunderFilter,
    )


@strawberry.federation.type(
    keys=["id"],
    description="A nationwide working group in which cities work on a theme together.",
)
class WorkingGroup(MappedNode, model=m.WorkingGroup):
    slug: str = described("Unique URL-safe name.")
    name: str = described("The group's name.")
    description: str = described("What the group works on.")
    theme = to_one(
        Relation(m.Theme, m.WorkingGroup.theme_id, m.Theme.id), "Theme", "The group's theme."
    )
    member_cities = connection(
        Relation(
            m.City,
            m.WorkingGroup.id,
            m.WorkingGroupMembership.working_group_id,
            link=(m.WorkingGroupMembership, m.WorkingGroupMembership.city_id == m.City.id),
            order_by=(m.City.name,),
        ),
        "City",
        "The cities taking part.",
        CityFilter,
        CityOrder,
    )


# --- Level 1: local networks ---------------------------------------------------------------


@strawberry.federation.type(
    keys=["id"],
    description="A sector of society (Sektor): civil society, politics and administration, "
    "business, science or media.",
)
class Sector(MappedNode, model=m.Sector):
    code: SectorCode = described("The sector's code.")
    label_de: str = described("German label, e.g. `Zivilgesellschaft`.")
    label_en: str = described("English label, e.g. `Civil society`.")
    description: str = described("What belongs to this sector.")
    actors = connection(
        Relation(m.Actor, m.Sector.code, m.Actor.sector_code, order_by=(m.Actor.name,)),
        "Actor",
        "Actors of this sector across all local networks.",
        ActorFilter,
    )


@strawberry.federation.type(
    keys=["id"],
    description="The local network of one city (lokales Netzwerk): an alliance of actors from "
    "several sectors that define goals and carry out measures together.",
)
class LocalNetwork(MappedNode, model=m.LocalNetwork):
    name: str = described("The network's name.")
    description: str = described("What the network does.")
    founded_on: date | None = described("When the network was founded, where known.")
    city = to_one(
        Relation(m.City, m.LocalNetwork.city_id, m.City.id),
        "City",
        "The city this network belongs to.",
        required=True,
    )
    coordinator = to_one(
        Relation(
            m.Actor,
            m.LocalNetwork.id,
            m.Actor.network_id,
            where=(m.Actor.role == m.ActorRole.COORDINATOR,),
        ),
        "Actor",
        "The actor that coordinates the network: its contact point (Anlaufstelle).",
    )
    actors = connection(
        Relation(m.Actor, m.LocalNetwork.id, m.Actor.network_id, order_by=(m.Actor.name,)),
        "Actor",
        "The network's actors, by name.",
        ActorFilter,
    )
    goals = connection(
        Relation(m.Goal, m.LocalNetwork.id, m.Goal.network_id, order_by=(m.Goal.title,)),
        "Goal",
        "The goals the actors defined together (Ziele).",
    )
    measures = connection(
        Relation(
            m.Measure, m.LocalNetwork.id, m.Measure.network_id, order_by=(m.Measure.starts_on,)
        ),
        "Measure",
        "The measures the network carries out (Maßnahmen).",
        MeasureFilter,
    )
    fundings = connection(
        Relation(
            m.Funding,
            m.LocalNetwork.id,
            m.Funding.network_id,
            order_by=(m.Funding.starts_on.desc(),),
        ),
        "Funding",
        "Fundings that go to the network itself (those of its measures are on the measures).",
        FundingFilter,
        FundingOrder,
    )
    sectors = to_list(
        Relation(
            m.Sector,
            m.LocalNetwork.id,
            sql.NETWORK_SECTORS.c.network_id,
            link=(sql.NETWORK_SECTORS, sql.NETWORK_SECTORS.c.sector_code == m.Sector.code),
            order_by=(m.Sector.position,),
        ),
        "Sector",
        "The sectors present among the network's actors.",
    )
    sector_count = computed(
        Computed(m.LocalNetwork, sql.NETWORK_SECTOR_COUNT),
        int,
        "How many sectors the network's actors come from.",
    )

    composition = computed(
        Computed(m.LocalNetwork, sql.NETWORK_COMPOSITION),
        SectorComposition,
        "The network's sector composition: bisectoral, trisectoral or multisectoral.",
    )


@strawberry.federation.type(
    keys=["id"],
    description="An organisation in a local network (Akteur), with one sector.",
)
class Actor(MappedNode, model=m.Actor):
    contacts = contacts_field(
        m.Actor.id, m.ContactPerson.actor_id, access.sees_actor_contacts, "the actor"
    )
    slug: str = described("Unique URL-safe name.")
    name: str = described("The organisation's name.")
    organisation_type: str = described(
        "What kind of organisation, e.g. `Verein`, `Stiftung`, `Unternehmen`."
    )
    role: ActorRole = described("The actor's role in its network.")
    description: str = described("What the actor contributes.")
    website: str | None = described("The organisation's website, if any.")
    sector = to_one(
        Relation(m.Sector, m.Actor.sector_code, m.Sector.code),
        "Sector",
        "The sector the actor belongs to.",
        required=True,
    )
    local_network = to_one(
        Relation(m.LocalNetwork, m.Actor.network_id, m.LocalNetwork.id),
        "LocalNetwork",
        "The local network the actor is part of.",
        required=True,
    )
    measures = connection(
        Relation(
            m.Measure,
            m.Actor.id,
            m.measure_actors.c.actor_id,
            link=(m.measure_actors, m.measure_actors.c.measure_id == m.Measure.id),
            order_by=(m.Measure.starts_on,),
        ),
        "Measure",
        "The measures the actor carries.",
        MeasureFilter,
    )


@strawberry.federation.type(
    keys=["id"],
    description="A theme that measures, fundings, funders and working groups are about.",
)
class Theme(MappedNode, model=m.Theme):
    slug: str = described("Unique URL-safe name, e.g. `demokratie-und-beteiligung`.")
    name_de: str = described("German name, e.g. `Demokratie und Beteiligung`.")
    name_en: str = described("English name, e.g. `Democracy and participation`.")
    description: str = described("What the theme covers.")
    measures = connection(
        Relation(m.Measure, m.Theme.id, m.Measure.theme_id, order_by=(m.Measure.starts_on,)),
        "Measure",
        "Measures about this theme.",
        MeasureFilter,
    )
    fundings = connection(
        Relation(m.Funding, m.Theme.id, m.Funding.theme_id, order_by=(m.Funding.starts_on.desc(),)),
        "Funding",
        "Fundings about this theme.",
        FundingFilter,
        FundingOrder,
    )
    funders = connection(
        Relation(
            m.Funder,
            m.Theme.id,
            m.FunderTheme.theme_id,
            link=(m.FunderTheme, m.FunderTheme.funder_id == m.Funder.id),
            order_by=(m.Funder.name,),
        ),
        "Funder",
        "Funders supporting this theme.",
        FunderFilter,
    )
    working_groups = connection(
        Relation(
            m.WorkingGroup, m.Theme.id, m.WorkingGroup.theme_id, order_by=(m.WorkingGroup.name,)
        ),
        "WorkingGroup",
        "Working groups on this theme.",
    )


@strawberry.federation.type(
    keys=["id"], description="A goal the actors of a local network defined together (Ziel)."
)
class Goal(MappedNode, model=m.Goal):
    title: str = described("The goal in a few words.")
    description: str = described("What the goal means.")
    theme = to_one(Relation(m.Theme, m.Goal.theme_id, m.Theme.id), "Theme", "The goal's theme.")
    local_network = to_one(
        Relation(m.LocalNetwork, m.Goal.network_id, m.LocalNetwork.id),
        "LocalNetwork",
        "The network that set the goal.",
        required=True,
    )
    measures = connection(
        Relation(m.Measure, m.Goal.id, m.Measure.goal_id, order_by=(m.Measure.starts_on,)),
        "Measure",
        "The measures that work towards the goal.",
        MeasureFilter,
    )


@strawberry.federation.type(
    keys=["id"], description="A measure a local network carries out (Maßnahme)."
)
class Measure(MappedNode, model=m.Measure):
    slug: str = described("Unique URL-safe name.")
    title: str = described("The measure's title.")
    description: str = described("What the measure does.")
    starts_on: date = described("When the measure starts.")
    ends_on: date | None = described("When it ends; null if open-ended.")
    theme = to_one(
        Relation(m.Theme, m.Measure.theme_id, m.Theme.id), "Theme", "The measure's theme."
    )
    goal = to_one(
        Relation(m.Goal, m.Measure.goal_id, m.Goal.id), "Goal", "The goal it works towards."
    )
    local_network = to_one(
        Relation(m.LocalNetwork, m.Measure.network_id, m.LocalNetwork.id),
        "LocalNetwork",
        "The network carrying out the measure.",
        required=True,
    )
    actors = connection(
        Relation(
            m.Actor,
            m.Measure.id,
            m.measure_actors.c.measure_id,
            link=(m.measure_actors, m.measure_actors.c.actor_id == m.Actor.id),
            order_by=(m.Actor.name,),
        ),
        "Actor",
        "The actors carrying the measure.",
        ActorFilter,
    )
    fundings = connection(
        Relation(
            m.Funding, m.Measure.id, m.Funding.measure_id, order_by=(m.Funding.starts_on.desc(),)
        ),
        "Funding",
        "Fundings of this measure.",
        FundingFilter,
        FundingOrder,
    )


# --- Level 3: the funder network -----------------------------------------------------------


@strawberry.federation.type(
    keys=["id", "slug"],
    description="A foundation, ministry, company or association supporting the network (Förderer).",
)
class Funder(MappedNode, model=m.Funder):
    contacts = contacts_field(
        m.Funder.id, m.ContactPerson.funder_id, access.sees_funder_contacts, "the funder"
    )
    slug: str = described("Unique URL-safe name, e.g. `koerber-stiftung`.")
    name: str = described("The funder's name.")
    short_name: str | None = described("A common short name, e.g. `BMFSFJ`.")
    kind: FunderKind = described("What kind of organisation the funder is.")
    scope: FunderScope = described("Where the funder acts.")
    description: str = described("How the funder supports the network.")
    website: str | None = described("The funder's website, if any.")
    states = to_list(
        Relation(
            m.State,
            m.Funder.id,
            m.FunderState.funder_id,
            link=(m.FunderState, m.FunderState.state_code == m.State.code),
            order_by=(m.State.code,),
        ),
        "State",
        "The states a regional funder acts in (empty for nationwide funders).",
    )
    themes = to_list(
        Relation(
            m.Theme,
            m.Funder.id,
            m.FunderTheme.funder_id,
            link=(m.FunderTheme, m.FunderTheme.theme_id == m.Theme.id),
            order_by=(m.Theme.slug,),
        ),
        "Theme",
        "The themes the funder supports.",
    )
    fundings = connection(
        Relation(
            m.Funding, m.Funder.id, m.Funding.funder_id, order_by=(m.Funding.starts_on.desc(),)
        ),
        "Funding",
        "The funder's fundings.",
        FundingFilter,
        FundingOrder,
    )
    cities = connection(
        Relation(
            m.City,
            m.Funder.id,
            sql.CITY_FUNDERS.c.funder_id,
            link=(sql.CITY_FUNDERS, sql.CITY_FUNDERS.c.city_id == m.City.id),
            order_by=(m.City.name,),
        ),
        "City",
        "The cities the funder supports, through their networks or measures.",
        CityFilter,
        CityOrder,
    )

    @strawberry.field(
        description="Figures about the funder's part: its fundings, and the cities they reach "
        "with those cities' networks and actors."
    )
    def statistics(self, root: strawberry.Parent[m.Funder]) -> Statistics:
        return Statistics(scope=Scope(funder_id=root.id))


FundingRecipient = Annotated[
    LocalNetwork | Measure | StatePartnership,
    strawberry.union(
        "FundingRecipient",
        description="What a funding goes to: a local network, a measure or a state partnership.",
    ),
]

# The recipient relation of each recipient kind; network-wide fundings have none.
RECIPIENTS = Variant(
    m.Funding.recipient_kind,
    {
        m.RecipientKind.LOCAL_NETWORK: Relation(
            m.LocalNetwork, m.Funding.network_id, m.LocalNetwork.id
        ),
        m.RecipientKind.MEASURE: Relation(m.Measure, m.Funding.measure_id, m.Measure.id),
        m.RecipientKind.STATE_PARTNERSHIP: Relation(
            m.StatePartnership, m.Funding.state_partnership_id, m.StatePartnership.id
        ),
    },
)


@strawberry.federation.type(
    keys=["id"],
    description="Support from one funder to one recipient (Förderung): money, expertise or an "
    "offer of the funder's own. Several funders may fund one recipient (co-funding).",
)
class Funding(MappedNode, model=m.Funding):
    title: str = described("What the funding is for, in a few words.")
    description: str = described("More about the funding.")
    contribution_type: ContributionType = described("How the funder contributes.")
    recipient_kind: RecipientKind = described("What kind of recipient the funding goes to.")
    amount_confidential: bool = described("Whether the funder keeps the amount confidential.")
    starts_on: date = described("When the funding starts.")
    ends_on: date | None = described("When it ends; null if open-ended.")
    funder = to_one(
        Relation(m.Funder, m.Funding.funder_id, m.Funder.id),
        "Funder",
        "The funder.",
        required=True,
    )
    theme = to_one(
        Relation(m.Theme, m.Funding.theme_id, m.Theme.id), "Theme", "The funding's theme."
    )
    city = to_one(
        Relation(
            m.City,
            m.Funding.id,
            sql.FUNDING_CITIES.c.funding_id,
            link=(sql.FUNDING_CITIES, sql.FUNDING_CITIES.c.city_id == m.City.id),
        ),
        "City",
        "The city the funding reaches (through its network or a measure), if any.",
    )

    amount_eur: Decimal | None = strawberry.field(
        description="Euros, for financial fundings; null for other contributions. A "
        "confidential amount only admins, the funder and the coordinator of the city it "
        "reaches see; for others it is null with a FORBIDDEN error.",
        extensions=guarded(m.Funding, access.sees_amount),
    )

    @strawberry.field(
        description="The recipient; null for fundings of the network as a whole.",
        metadata={SOURCE: RECIPIENTS},
    )
    async def recipient(
        self, root: strawberry.Parent[m.Funding], info: Info
    ) -> FundingRecipient | None:
        relation = RECIPIENTS.relation_for(root)
        if relation is None:
            return None
        return await info.context.loaders.one(relation).load(relation.parent_value(root))
