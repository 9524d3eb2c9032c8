"""Fundings: a funder records, changes and ends its own; the network office any funder's."""

from datetime import date

import models as m
from resolvers.mutations.entries import FUNDINGS
from resolvers.mutations.ids import key_of
from resolvers.mutations.problems import Rejected, invalid
from resolvers.mutations.validation import Values, checked, field_path
from resolvers.mutations.write import Write

# What a funding can go to, by the type of the recipient's ID: its kind and its column.
RECIPIENTS: dict[type[m.Base], tuple[m.RecipientKind, str]] = {
    m.LocalNetwork: (m.RecipientKind.LOCAL_NETWORK, "network_id"),
    m.Measure: (m.RecipientKind.MEASURE, "measure_id"),
    m.StatePartnership: (m.RecipientKind.STATE_PARTNERSHIP, "state_partnership_id"),
}
RECIPIENT = field_path("recipient_id")
RECIPIENT_IDS = (
    "an ID of type LocalNetwork, Measure or StatePartnership, or null for the network as a whole"
)


async def record_funding(write: Write, values: Values) -> m.Funding:
    """A new funding from the funder `funderId` names to the recipient `recipientId` names."""
    values = checked(
        m.Funding, values | recipient_of(values.pop("recipient_id", ...)), complete=True
    )
    for model, (_, column) in RECIPIENTS.items():
        if values.get(column) is not None:
            await write.find(model, values[column], RECIPIENT)
    funding = await FUNDINGS.add(write, values)
    write.announce("funding_recorded", id=funding.id, funder_id=funding.funder_id)
    return funding


def recipient_of(recipient_id: str | None) -> Values:
    """The recipient columns of a recipient's global ID (null: the network as a whole)."""
    if recipient_id is None:
        return {"recipient_kind": m.RecipientKind.NETWORK_WIDE}
    for model, (kind, column) in RECIPIENTS.items():
        if key_of(recipient_id, model) is not None:
            return {"recipient_kind": kind, column: recipient_id}
    raise Rejected(invalid(RECIPIENT, f"Must be {RECIPIENT_IDS}."))


async def end_funding(write: Write, global_id: str, values: Values) -> m.Funding:
    """The funding, ended on the day `endsOn` names (today if not given); a new end is
    announced."""
    ends_on = checked(m.Funding, {"ends_on": values.get("ends_on", date.today())})
    funding: m.Funding = await FUNDINGS.find(write, global_id)
    if funding.ends_on != ends_on["ends_on"]:
        await FUNDINGS.change(write, funding, ends_on)
        write.announce("funding_ended", id=funding.id, funder_id=funding.funder_id)
    return funding
