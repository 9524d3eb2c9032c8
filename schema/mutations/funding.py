"""Writes of fundings: a funder records, changes and ends its own; the network office any."""

from datetime import date
from decimal import Decimal

import strawberry
from strawberry import Maybe

from resolvers.mutations import funding
from resolvers.mutations.entries import FUNDINGS
from schema.enums import ContributionType
from schema.mutations.fields import on_entry, on_input
from schema.types import Funding, described


@strawberry.input(
    description="A funding's fields. Recording one needs `funderId`, `recipientId`, "
    "`contributionType`, `title` and `startsOn` (and `amountEur` for financial ones); an "
    "update changes the fields given. Funder and recipient are never changed: record "
    "another funding instead."
)
class FundingInput:
    funder_id: Maybe[strawberry.ID | None] = described("The funder (its ID); a funder key's own.")
    recipient_id: Maybe[strawberry.ID | None] = described(
        "What the funding goes to: the ID of a local network, a measure or a state "
        "partnership; null for the network as a whole."
    )
    contribution_type: Maybe[ContributionType | None] = described("How the funder contributes.")
    amount_eur: Maybe[Decimal | None] = described(
        "Euros (with at most two decimal places) for financial contributions; null otherwise."
    )
    amount_confidential: Maybe[bool | None] = described(
        "Whether the amount is kept from public reads."
    )
    title: Maybe[str | None] = described("What the funding is for, in a few words.")
    description: Maybe[str | None] = described("More about the funding.")
    starts_on: Maybe[date | None] = described("When the funding starts.")
    ends_on: Maybe[date | None] = described("When it ends (not before the start), or null.")
    theme_id: Maybe[strawberry.ID | None] = described("The ID of its theme, or null.")


@strawberry.input(description="The end of a funding.")
class EndFundingInput:
    ends_on: date | None = strawberry.field(
        default=None, description="Its last day (not before its start); today if not given."
    )


@strawberry.type(description="Writes of fundings (funders: their own).")
class FundingMutation:
    record_funding = on_input(
        funding.record_funding,
        Funding,
        FundingInput,
        "Record a funding; several funders may fund one recipient (co-funding).",
    )
    update_funding = on_entry(FUNDINGS.update, Funding, FundingInput, "Change a funding.")

    end_funding = on_entry(
        funding.end_funding, Funding, EndFundingInput, "End a funding on a given day."
    )
