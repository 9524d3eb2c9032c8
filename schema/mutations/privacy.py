"""The rights of data subjects (DSGVO Art. 15 and 17), served by the network office: a
report of everything the hub holds about a person, and its erasure.

The report is a mutation although it writes nothing: so it is never sent by GET, never
cached, never saved as a view, and never planned by the compiled read path.
"""

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from resolvers.context import Info
from resolvers.mutations import privacy
from schema.mutations.payloads import Payload, given, payload
from schema.types import described

PERSON = strawberry.argument(description="The person, by e-mail address.")


@strawberry.input(description="A person whose data the hub may hold, named by e-mail address.")
class PersonalDataInput:
    email: str = described(
        "The person's e-mail address; found in any case, and wherever a text names it."
    )


@strawberry.type(description="Everything the hub holds about one person.")
class PersonalDataReport:
    document: JSON = described(
        "One JSON document: `contactPersons` (with whose contact each is), the `applications` "
        "they are the contact of (with the review steps), the `auditEntries` of writes of "
        "their data or naming their address, and the `mentions` of their address in any "
        "other entry's text."
    )


@strawberry.type(description="What an erasure removed or changed.")
class PersonalDataErasure:
    contact_persons: int = described(
        "Contact persons of cities, actors, funders and state partnerships removed."
    )
    application_contacts: int = described("Contact persons of applications removed.")
    audit_entries: int = described(
        "Audit entries whose values of the person were erased (the entries stay)."
    )
    other_entries: int = described("Other entries whose texts named the address.")


@strawberry.type(description="The rights of data subjects (the network office).")
class PrivacyMutation:
    @strawberry.mutation(
        description="Everything the hub holds about a person, by e-mail address, for their "
        "right of access (DSGVO Art. 15); writes nothing (the network office)."
    )
    async def report_personal_data(
        self, info: Info, input: Annotated[PersonalDataInput, PERSON]
    ) -> Payload[PersonalDataReport]:
        return await payload(info, lambda write: privacy.report(write, given(input)))

    @strawberry.mutation(
        description="Erase a person's data everywhere, by e-mail address, for their right to "
        "erasure (DSGVO Art. 17): their contact persons are removed, their values in the "
        "audit log and their address in every text are replaced by `(erased)`; each change "
        "is audited without the values (the network office)."
    )
    async def erase_personal_data(
        self, info: Info, input: Annotated[PersonalDataInput, PERSON]
    ) -> Payload[PersonalDataErasure]:
        return await payload(info, lambda write: privacy.erase(write, given(input)))
