"""Writes of contact persons: personal data, kept by the network office and by whoever the entry
they are a contact of belongs to."""

import strawberry
from strawberry import Maybe

from resolvers.mutations.contacts import CONTACT_PERSONS
from schema.mutations.fields import on_entry, on_input, removing
from schema.types import ContactPerson, described

OF = "; given on creation, never changed."


@strawberry.input(
    description="A contact person's fields. Creating one needs `fullName`, `email` and exactly "
    "one of `cityId`, `actorId`, `funderId` and `statePartnershipId`; an update changes the "
    "fields given."
)
class ContactPersonInput:
    city_id: Maybe[strawberry.ID | None] = described("The city (its ID) it is a contact of" + OF)
    actor_id: Maybe[strawberry.ID | None] = described("The actor (its ID) it is a contact of" + OF)
    funder_id: Maybe[strawberry.ID | None] = described(
        "The funder (its ID) it is a contact of" + OF
    )
    state_partnership_id: Maybe[strawberry.ID | None] = described(
        "The state partnership (its ID) it is a contact of" + OF
    )
    full_name: Maybe[str | None] = described("The person's full name.")
    function: Maybe[str | None] = described("The person's function, e.g. `Koordinatorin`, or null.")
    email: Maybe[str | None] = described("The person's e-mail address.")
    phone: Maybe[str | None] = described("The person's phone number, or null.")


@strawberry.type(
    description="Writes of contact persons (coordinators: their city's and its actors'; "
    "funders: their own; state partners: their partnership's)."
)
class ContactMutation:
    create_contact_person = on_input(
        CONTACT_PERSONS.create,
        ContactPerson,
        ContactPersonInput,
        "Add a contact person to a city, actor, funder or state partnership.",
    )
    update_contact_person = on_entry(
        CONTACT_PERSONS.update, ContactPerson, ContactPersonInput, "Change a contact person."
    )
    remove_contact_person = removing(
        CONTACT_PERSONS.remove, ContactPerson, "Remove a contact person."
    )
