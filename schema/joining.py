"""Applications to join the network, as the network office reads them.

Applications are no Relay nodes and have no SQL source for the compiled read path: they are
read through the network office's `applications` list only (and returned by their own mutations).
"""

from datetime import date, datetime

import strawberry
from sqlalchemy import ColumnElement
from strawberry.relay import to_base64

import models as m
from resolvers.context import Info
from resolvers.sources import Relation
from schema.contracts import INTERNAL
from schema.enums import ApplicationKind, ApplicationStatus, CityKind
from schema.fields import office_connection, to_one
from schema.types import ContactPerson, described

STATUS_CHANGES = Relation(
    m.ApplicationStatusChange,
    m.Application.id,
    m.ApplicationStatusChange.application_id,
    order_by=(m.ApplicationStatusChange.changed_at,),
)
CONTACT = Relation(m.ContactPerson, m.Application.id, m.ContactPerson.application_id)


@strawberry.type(description="One step of an application's review.")
class ApplicationStatusChange:
    from_status: ApplicationStatus | None = described("The status before; null at submission.")
    to_status: ApplicationStatus = described("The status after.")
    changed_at: datetime = described("When the step was taken.")
    changed_by: str = described("Who took it: `key:<id>`, a token's subject, or `public`.")
    note: str = described("A note on the step.")


@strawberry.type(
    description="An application to join the network (Engagierte Stadt werden, Landespartner*in "
    "werden, Partner*in werden), with its review workflow.",
    directives=INTERNAL,
)
class Application:
    kind: ApplicationKind = described("Which way into the network.")
    status: ApplicationStatus = described("Where the application stands.")
    organisation_name: str = described("The applicant: the city, institution or organisation.")
    city_kind: CityKind | None = described("For cities: the kind of municipality.")
    motivation: str = described("Why the applicant wants to join.")
    planned_start_on: date | None = described("When the applicant would like to start.")
    submitted_at: datetime = described("When the application was submitted.")
    rejection_reason: str | None = described("Why it was rejected; null unless rejected.")
    state = to_one(
        Relation(m.State, m.Application.state_code, m.State.code),
        "State",
        "The state the applicant lies in or represents, if named.",
    )
    city = to_one(
        Relation(m.City, m.Application.city_id, m.City.id),
        "City",
        "The city accepting the application created.",
    )
    state_partnership = to_one(
        Relation(m.StatePartnership, m.Application.state_partnership_id, m.StatePartnership.id),
        "StatePartnership",
        "The state partnership accepting the application created.",
    )
    funder = to_one(
        Relation(m.Funder, m.Application.funder_id, m.Funder.id),
        "Funder",
        "The funder accepting the application created.",
    )

    @strawberry.field(description="The application's ID, for the review and withdraw mutations.")
    def id(self, root: strawberry.Parent[m.Application]) -> strawberry.ID:
        return strawberry.ID(to_base64("Application", root.id))

    @strawberry.field(description="Every step of the application, the oldest first.")
    async def status_changes(
        self, root: strawberry.Parent[m.Application], info: Info
    ) -> list[ApplicationStatusChange]:
        return await info.context.loaders.many(STATUS_CHANGES).load(root.id)

    @strawberry.field(
        description="The applicant's contact person: personal data, which only the network "
        "office reads (null for others)."
    )
    async def contact(
        self, root: strawberry.Parent[m.Application], info: Info
    ) -> ContactPerson | None:
        if not info.context.viewer.is_admin:
            return None
        return await info.context.loaders.one(CONTACT).load(root.id)


@strawberry.input(description="Conditions on applications; all given conditions must hold.")
class ApplicationFilter:
    statuses: list[ApplicationStatus] | None = strawberry.field(
        default=None, description="With one of these statuses."
    )
    kinds: list[ApplicationKind] | None = strawberry.field(
        default=None, description="Of one of these kinds."
    )

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on `applications`."""
        conditions: list[ColumnElement[bool]] = []
        if self.statuses is not None:
            conditions.append(m.Application.status.in_(self.statuses))
        if self.kinds is not None:
            conditions.append(m.Application.kind.in_(self.kinds))
        return conditions


@strawberry.type(description="Applications, for the network office.")
class ApplicationsQuery:
    applications = office_connection(
        Relation(m.Application, order_by=(m.Application.submitted_at.desc(),)),
        Application,
        "Applications to join, the newest first; they hold personal data, so only the "
        "network office reads them.",
        ApplicationFilter,
    )
