"""Writes of applications: anyone applies, the network office reviews, the applicant withdraws
with the token it got at submission."""

from datetime import date
from typing import Annotated, Any

import strawberry

from resolvers.context import Info
from resolvers.mutations import joining
from resolvers.mutations.write import perform
from schema.enums import ApplicationKind, CityKind, FunderKind, FunderScope
from schema.joining import Application
from schema.mutations.fields import on_input
from schema.mutations.payloads import UserError, given, user_error
from schema.types import described

APPLICATION = "The application (its ID)."
NOTE = "A note on the step, kept with it."


def optional(description: str, default: object = None) -> Any:
    """An input field that may be left out."""
    return strawberry.field(default=default, description=description)


@strawberry.input(
    description="The applicant's contact person: personal data, which only the network office "
    "reads."
)
class ContactInput:
    full_name: str = described("The person's name.")
    email: str = described("Their e-mail address.")
    function: str | None = optional("Their function at the applicant.")
    phone: str | None = optional("Their phone number.")


@strawberry.input(description="An application to join the network.")
class SubmitApplicationInput:
    kind: ApplicationKind = described("Which way into the network.")
    organisation_name: str = described(
        "The applicant: the city's name, the state's institution or the organisation."
    )
    contact: ContactInput = described("Whom the network office contacts about it.")
    state_code: str | None = optional(
        "The state's code, e.g. `NW`; needed from cities and state partners."
    )
    city_kind: CityKind | None = optional("The kind of municipality; needed from cities.")
    motivation: str = optional("Why the applicant wants to join.", "")
    planned_start_on: date | None = optional("When the applicant would like to start.")


@strawberry.input(description="A step of an application's review.")
class ApplicationStepInput:
    application_id: strawberry.ID = described(APPLICATION)
    note: str = optional(NOTE, "")


@strawberry.input(description="Turning an application down.")
class RejectApplicationInput:
    application_id: strawberry.ID = described(APPLICATION)
    rejection_reason: str = described("Why; the applicant may read it.")
    note: str = optional(NOTE, "")


@strawberry.input(
    description="Accepting an application, with what the new entry needs beyond the "
    "application; fields that do not fit its kind are ignored."
)
class AcceptApplicationInput:
    application_id: strawberry.ID = described(APPLICATION)
    note: str = optional(NOTE, "")
    slug: str | None = optional("Cities and funders: the slug; made from the name if not given.")
    name: str | None = optional(
        "Cities and funders: the name, if not the applicant's organisation name."
    )
    population: int | None = optional("Cities: the number of inhabitants.")
    latitude: float | None = optional("Cities: the latitude in degrees (WGS 84).")
    longitude: float | None = optional("Cities: the longitude in degrees (WGS 84).")
    joined_on: date | None = optional(
        "Cities: the day they join; the planned start or today if not given."
    )
    starts_on: date | None = optional(
        "State partners: the partnership's first day; the planned start or today if not given."
    )
    focus: str | None = optional("State partners: what the partnership concentrates on.")
    funder_kind: FunderKind | None = optional("Partners: what kind of organisation (needed).")
    funder_scope: FunderScope | None = optional(
        "Partners: where they act; nationwide if not given."
    )


@strawberry.input(description="The applicant withdrawing its application.")
class WithdrawApplicationInput:
    application_id: strawberry.ID = described(APPLICATION)
    withdraw_token: str = described("The token the submission returned.")
    note: str = optional(NOTE, "")


@strawberry.type(description="A submitted application, or the user errors that refused it.")
class SubmitApplicationPayload:
    application: Application | None = described("The application; null when refused.")
    withdraw_token: str | None = described(
        "The token that withdraws the application: shown this once, keep it."
    )
    errors: list[UserError] = described("Why the submission was refused; empty on success.")


APPLYING = strawberry.argument(description="The application.")


@strawberry.type(description="Writes of applications to join.")
class JoiningMutation:
    @strawberry.mutation(
        description="Apply to join the network; anyone may. Keep the withdraw token."
    )
    async def submit_application(
        self,
        info: Info,
        input: Annotated[
            SubmitApplicationInput, strawberry.argument(description="The application.")
        ],
    ) -> SubmitApplicationPayload:
        values = given(input)
        contact = given(values.pop("contact"))
        outcome = await perform(
            info.context, info.field_name, lambda write: joining.submit(write, values, contact)
        )
        submitted: Any = outcome.result
        return SubmitApplicationPayload(
            application=submitted.application if submitted else None,
            withdraw_token=submitted.withdraw_token if submitted else None,
            errors=[user_error(problem) for problem in outcome.problems],
        )

    start_application_review = on_input(
        joining.start_review,
        Application,
        ApplicationStepInput,
        "Take a submitted application into review (the office).",
    )
    accept_application = on_input(
        joining.accept,
        Application,
        AcceptApplicationInput,
        "Accept an application in review (the office): the city with its local network, the "
        "state partnership or the funder is created with it.",
    )
    reject_application = on_input(
        joining.reject,
        Application,
        RejectApplicationInput,
        "Turn down an application in review (the office).",
    )
    withdraw_application = on_input(
        joining.withdraw,
        Application,
        WithdrawApplicationInput,
        "Withdraw an application not yet decided, with the token of its submission.",
    )
