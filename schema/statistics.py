"""Statistics in GraphQL: counts and funding totals of the network or of a part of it.

Each figure is a field of its own, so a query runs only the SQL of the figures it asks for.
"""

from decimal import Decimal
from types import GenericAlias
from typing import Annotated, Any, Self

import strawberry
from graphql import GraphQLError
from sqlalchemy import Row

import models as m
from hub.demo.dataset import read_facts
from resolvers import statistics as stats
from resolvers.compiler import NotCompilable
from resolvers.context import Info
from resolvers.errors import bad_input
from resolvers.sources import SOURCE, Planned
from resolvers.statistics import Scope
from schema.enums import CityKind, ContributionType, MembershipStatus, SectorCode, SectorComposition
from schema.fields import node
from schema.filters import state_codes


def planned(plan: Any) -> dict[str, Planned]:
    """Field metadata: how the compiled read path plans the field (see resolvers.statistics)."""
    return {SOURCE: Planned(plan)}


# The key of a figure's row, and the row it names in another table.
KEY = planned(stats.plan_key)
STATE_BY_KEY = planned(stats.plan_row_by_key(m.State.code))
FUNDER_BY_KEY = planned(stats.plan_row_by_key(m.Funder.id))
THEME_BY_KEY = planned(stats.plan_row_by_key(m.Theme.id))


async def load_by_key(info: Info, attribute: Any, key: Any) -> Any:
    """The row whose unique `attribute` is `key` (batched), or None for a null key."""
    return None if key is None else await info.context.loaders.by_key(attribute).load(key)


# --- Counts --------------------------------------------------------------------------------


@strawberry.interface(description="How many items of a statistic share one key.")
class GroupCount:
    key: strawberry.Private[Any]
    count: int = strawberry.field(description="How many there are.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> Self:
        """The count of one row of a figure."""
        return cls(key=row.key, count=row.number)


@strawberry.type(description="How many cities lie in one state.")
class CountByState(GroupCount):
    @strawberry.field(description="The state's code, e.g. `NW`.", metadata=KEY)
    def code(self) -> str:
        return self.key

    @strawberry.field(description="The state.", graphql_type=node("State"), metadata=STATE_BY_KEY)
    async def state(self, info: Info) -> Any:
        return await load_by_key(info, m.State.code, self.key)


@strawberry.type(description="How many cities are of one kind.")
class CountByCityKind(GroupCount):
    @strawberry.field(description="The kind of municipality.", metadata=KEY)
    def kind(self) -> CityKind:
        return self.key


@strawberry.type(description="How many cities have one membership status.")
class CountByMembershipStatus(GroupCount):
    @strawberry.field(description="The membership status.", metadata=KEY)
    def status(self) -> MembershipStatus:
        return self.key


@strawberry.type(description="How many actors belong to one sector.")
class CountBySector(GroupCount):
    @strawberry.field(description="The sector.", metadata=KEY)
    def sector(self) -> SectorCode:
        return self.key


@strawberry.type(description="How many local networks have one sector composition.")
class CountByComposition(GroupCount):
    @strawberry.field(description="The sector composition.", metadata=KEY)
    def composition(self) -> SectorComposition:
        return self.key


@strawberry.type(
    description="The local networks by how many sectors their actors come from (Multisektoralität)."
)
class SectorCompositionStatistics:
    network_count: int = strawberry.field(description="How many local networks there are.")
    networks_with_actors: int = strawberry.field(
        description="How many of them have actors; the shares are fractions of these."
    )
    by_composition: list[CountByComposition] = strawberry.field(
        description="Every composition class with its number of networks, zeros included.",
        metadata=planned(stats.plan_compositions),
    )
    trisectoral_share: float | None = strawberry.field(
        description="The share (0 to 1) of networks with actors that bring three sectors "
        "together; null without any network with actors."
    )
    multisectoral_share: float | None = strawberry.field(
        description="The share (0 to 1) of networks with actors that bring more than three "
        "sectors together; null without any network with actors."
    )

    @classmethod
    def from_row(cls, row: Row[Any] | None) -> Self:
        """The figures of the scope's row; no row means no networks."""
        counts = row._asdict() if row is not None else {}
        with_actors = counts.get("with_actors", 0)

        def share(composition: SectorComposition) -> float | None:
            return counts[composition.value] / with_actors if with_actors else None

        return cls(
            network_count=counts.get("networks", 0),
            networks_with_actors=with_actors,
            by_composition=[
                CountByComposition(key=composition, count=counts.get(composition.value, 0))
                for composition in SectorComposition
            ],
            trisectoral_share=share(SectorComposition.TRISECTORAL),
            multisectoral_share=share(SectorComposition.MULTISECTORAL),
        )


# --- Funding totals ------------------------------------------------------------------------


@strawberry.interface(description="The fundings that share one key: their sum and their number.")
class FundingTotal:
    key: strawberry.Private[Any]
    amount_eur: Decimal = strawberry.field(
        description="Euros of the financial fundings whose amount is public. Confidential "
        "amounts are left out, so the sum is a lower bound where some are confidential."
    )
    funding_count: int = strawberry.field(
        description="How many fundings there are, of every contribution type, confidential "
        "ones included."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> Self:
        """The total of one row of a figure."""
        return cls(key=row.key, amount_eur=row.amount_eur, funding_count=row.funding_count)


@strawberry.type(description="The fundings of one funder.")
class FundingTotalByFunder(FundingTotal):
    @strawberry.field(
        description="The funder.", graphql_type=node("Funder"), metadata=FUNDER_BY_KEY
    )
    async def funder(self, info: Info) -> Any:
        return await load_by_key(info, m.Funder.id, self.key)


@strawberry.type(description="The fundings of one contribution type.")
class FundingTotalByContributionType(FundingTotal):
    @strawberry.field(description="How the funders contribute.", metadata=KEY)
    def contribution_type(self) -> ContributionType:
        return self.key


@strawberry.type(
    description="The fundings that reach one state: through a city's network or measures, or "
    "through the state's partnership. Fundings of the network as a whole reach no state."
)
class FundingTotalByState(FundingTotal):
    @strawberry.field(
        description="The state's code; null for fundings of the whole network.", metadata=KEY
    )
    def code(self) -> str | None:
        return self.key

    @strawberry.field(
        description="The state; null for fundings of the whole network.",
        graphql_type=node("State") | None,
        metadata=STATE_BY_KEY,
    )
    async def state(self, info: Info) -> Any:
        return await load_by_key(info, m.State.code, self.key)


@strawberry.type(description="The fundings about one theme.")
class FundingTotalByTheme(FundingTotal):
    @strawberry.field(
        description="The theme; null for fundings without a theme.",
        graphql_type=node("Theme") | None,
        metadata=THEME_BY_KEY,
    )
    async def theme(self, info: Info) -> Any:
        return await load_by_key(info, m.Theme.id, self.key)


@strawberry.type(description="The fundings that start in one year.")
class FundingTotalByYear(FundingTotal):
    @strawberry.field(description="The year the fundings start.", metadata=KEY)
    def year(self) -> int:
        return self.key


def figure_list(
    figure: stats.Figure, item: type[GroupCount] | type[FundingTotal], description: str
) -> Any:
    """A field listing `figure`'s rows in the parent's scope, one `item` per row."""

    async def resolve(root: Any, info: Info) -> list[Any]:
        rows = await stats.figure_rows(info.context, figure, root.scope)
        return [item.from_row(row) for row in rows]

    return strawberry.field(
        resolver=resolve,
        graphql_type=GenericAlias(list, (item,)),
        description=description,
        metadata=planned(stats.plan_figure_list(figure)),
    )


@strawberry.type(
    description="The fundings by funder, contribution type, state, theme and year. Each list "
    "holds the keys that have fundings, in the order of their keys (funders and themes in the "
    "order they were recorded)."
)
class FundingTotals:
    scope: strawberry.Private[Scope]

    by_funder = figure_list(
        stats.FUNDINGS_BY_FUNDER, FundingTotalByFunder, "The fundings of each funder."
    )
    by_contribution_type = figure_list(
        stats.FUNDINGS_BY_CONTRIBUTION_TYPE,
        FundingTotalByContributionType,
        "The fundings of each contribution type.",
    )
    by_state = figure_list(
        stats.FUNDINGS_BY_STATE,
        FundingTotalByState,
        "The fundings reaching each state; those of the network as a whole come last, under "
        "a null state.",
    )
    by_theme = figure_list(
        stats.FUNDINGS_BY_THEME,
        FundingTotalByTheme,
        "The fundings about each theme; those without a theme come last, under a null theme.",
    )
    by_year = figure_list(
        stats.FUNDINGS_BY_YEAR,
        FundingTotalByYear,
        "The fundings by the year they start: a funding running over several years counts "
        "once, in the year it starts.",
    )


# --- A sourced figure ----------------------------------------------------------------------


@strawberry.type(description="A figure taken from a published source, not computed from data.")
class SourcedFigure:
    value: int = strawberry.field(description="The figure.")
    description_de: str = strawberry.field(description="What the figure counts, in German.")
    description_en: str = strawberry.field(description="What the figure counts, in English.")
    year: int = strawberry.field(description="The year of the study the figure comes from.")
    publisher: str = strawberry.field(description="Who published the study.")
    sources: list[str] = strawberry.field(description="Where the figure is published (URLs).")


# The figure itself is the demo facts' (network_facts.json); what they hold only as prose is here.
ENGAGED_PEOPLE = SourcedFigure(
    value=read_facts("network_facts.json")["figures"]["engaged_people_germany"],
    description_de="Engagierte Menschen in Deutschland, nach einer Untersuchung des BMFSFJ "
    "von 2019.",
    description_en="People engaged in Germany, according to a 2019 study of the Federal "
    "Ministry for Family Affairs, Senior Citizens, Women and Youth (BMFSFJ).",
    year=2019,
    publisher="Bundesministerium für Familie, Senioren, Frauen und Jugend (BMFSFJ)",
    sources=["https://www.engagiertestadt.de/ansatz/"],
)


# --- The statistics of a scope -------------------------------------------------------------


@strawberry.type(
    description="Figures about the network, or the part a state or a funder covers. A state "
    "covers its cities with their networks and actors, and the fundings that reach it; a "
    "funder covers its fundings and the cities they reach (through their networks or "
    "measures) with those cities' networks and actors. Each figure is computed when asked for."
)
class Statistics:
    scope: strawberry.Private[Scope]

    cities_by_state = figure_list(
        stats.CITIES_BY_STATE, CountByState, "The cities per state (states without any left out)."
    )
    cities_by_kind = figure_list(
        stats.CITIES_BY_KIND, CountByCityKind, "The cities per kind (kinds without any left out)."
    )
    cities_by_status = figure_list(
        stats.CITIES_BY_STATUS,
        CountByMembershipStatus,
        "The cities per membership status (statuses without any left out).",
    )
    actors_by_sector = figure_list(
        stats.ACTORS_BY_SECTOR,
        CountBySector,
        "The actors of the local networks per sector (sectors without any left out).",
    )

    @strawberry.field(
        description="How many sectors the local networks bring together.",
        metadata=planned(stats.plan_sector_composition),
    )
    async def sector_composition(self, info: Info) -> SectorCompositionStatistics:
        rows = await stats.figure_rows(info.context, stats.SECTOR_COMPOSITION, self.scope)
        return SectorCompositionStatistics.from_row(next(iter(rows), None))

    @strawberry.field(
        description="The fundings' sums and numbers.", metadata=planned(stats.same_scope)
    )
    def funding_totals(self) -> FundingTotals:
        return FundingTotals(scope=self.scope)

    @strawberry.field(
        description="How many people are engaged in Germany: a published figure for the whole "
        "country, the same in every scope.",
        metadata=planned(stats.plan_constant(ENGAGED_PEOPLE)),
    )
    def engaged_people(self) -> SourcedFigure:
        return ENGAGED_PEOPLE


def plan_statistics(compiler: Any, field_def: Any, details: Any, _parent: Any) -> Any:
    """`statistics(state:)`: the selected figures of the network or of one state."""
    arguments = compiler.arguments(field_def, details)
    if arguments.get("funder") is not None:
        # An unknown funder is the client's error, which only the resolvers can report.
        raise NotCompilable("statistics of a funder")
    state = arguments.get("state")
    try:
        scope = Scope(state_code=None if state is None else state_codes([state])[0])
    except GraphQLError as error:
        raise NotCompilable(error.message) from None
    return stats.same_scope(compiler, field_def, details, scope)


@strawberry.type(description="Statistics of the network.")
class StatisticsQuery:
    @strawberry.field(
        description="Figures about the whole network, one state's part, one funder's part, "
        "or, given both, that funder's part in that state.",
        metadata=planned(plan_statistics),
    )
    async def statistics(
        self,
        info: Info,
        state: Annotated[
            str | None,
            strawberry.argument(description="Only this state, by code, e.g. `NW` (any case)."),
        ] = None,
        funder: Annotated[
            str | None,
            strawberry.argument(description="Only this funder's part, by its slug."),
        ] = None,
    ) -> Statistics:
        state_code = None if state is None else state_codes([state])[0]
        funder_id = None if funder is None else await funder_id_of(info, funder)
        return Statistics(scope=Scope(state_code=state_code, funder_id=funder_id))


async def funder_id_of(info: Info, slug: str) -> int:
    """The id of the funder with `slug`; an unknown slug is the client's error."""
    funder = await info.context.loaders.by_key(m.Funder.slug).load(slug)
    if funder is None:
        raise bad_input(f"Unknown funder {slug!r}.")
    return int(funder.id)
