"""Applications to join the network: submitted by anyone, reviewed by the network office,
withdrawn by the applicant with the token it got at submission.

Every status change is recorded. Accepting creates what the application asked for (the city
with its local network, the state partnership or the funder) in the same transaction, and
links the application to it.
"""

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

import models as m
from hub.keys import hash_key
from hub.slugs import slugify
from models import ApplicationKind as Kind
from models import ApplicationStatus as Status
from resolvers.access import OFFICE
from resolvers.mutations.cities import add_city
from resolvers.mutations.ids import key_of
from resolvers.mutations.problems import (
    INPUT,
    Rejected,
    invalid,
    invalid_transition,
    not_found,
    refuse_any,
)
from resolvers.mutations.validation import Values, checked, field_path
from resolvers.mutations.write import WITHHELD, Write

# The steps an application can take from each status; any other is refused.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.SUBMITTED: frozenset({Status.IN_REVIEW, Status.WITHDRAWN}),
    Status.IN_REVIEW: frozenset({Status.ACCEPTED, Status.REJECTED, Status.WITHDRAWN}),
}
STEPS = {
    Status.IN_REVIEW: "taken into review",
    Status.ACCEPTED: "accepted",
    Status.REJECTED: "rejected",
    Status.WITHDRAWN: "withdrawn",
}
# What an applicant must name, by kind (the database checks the same).
REQUIRED_BY_KIND: dict[Kind, tuple[str, ...]] = {
    Kind.CITY: ("state_code", "city_kind"),
    Kind.STATE_PARTNER: ("state_code",),
    Kind.PARTNER: (),
}
APPLICATION = field_path("application_id")
REVIEWERS_ONLY = "Only the network office reviews applications."
UNKNOWN_APPLICATION = "No application has this ID and withdraw token."


@dataclass(frozen=True)
class Submitted:
    """A new application, and the token that withdraws it (shown this once, kept hashed)."""

    application: m.Application
    withdraw_token: str


async def submit(write: Write, values: Values, contact: Values) -> Submitted:
    """A new application of `values`, with its `contact` person."""
    contact = checked(m.ContactPerson, contact, field_path("contact"), complete=True)
    token = secrets.token_urlsafe(32)
    secret = {"withdraw_token_hash": hash_key(token)}
    values = checked(m.Application, values | {"status": Status.SUBMITTED} | secret, complete=True)
    missing = [name for name in REQUIRED_BY_KIND[values["kind"]] if values.get(name) is None]
    refuse_any([invalid(field_path(name), "Must be given for this kind.") for name in missing])
    application = await write.add(m.Application(**values), values | dict.fromkeys(secret, WITHHELD))
    person = m.ContactPerson(**contact, application_id=application.id)
    await write.add(person, contact)
    record_status(write, application, None, Status.SUBMITTED, "")
    return Submitted(application, token)


async def start_review(write: Write, values: Values) -> m.Application:
    """The network office takes up a submitted application."""
    application = await reviewed(write, values)
    return await move(write, application, Status.IN_REVIEW, values)


async def reject(write: Write, values: Values) -> m.Application:
    """The network office turns down an application in review, giving its reason."""
    application = await reviewed(write, values)
    reason = checked(m.Application, {"rejection_reason": values["rejection_reason"]})
    return await move(write, application, Status.REJECTED, values, reason)


async def accept(write: Write, values: Values) -> m.Application:
    """The network office accepts an application in review: what it asked for is created
    from the application and what `values` add to it, and linked to it."""
    application = await reviewed(write, values)
    allow_step(application, Status.ACCEPTED)
    created = await CREATE[application.kind](write, application, values)
    return await move(write, application, Status.ACCEPTED, values, created)


async def withdraw(write: Write, values: Values) -> m.Application:
    """The applicant withdraws its application with the token it got at submission; an ID
    and a token that do not belong together are refused like an unknown ID."""
    key = key_of(values["application_id"], m.Application)
    application = None if key is None else await write.locked(m.Application, key)
    token_hash = hash_key(values["withdraw_token"])
    if application is None or not hmac.compare_digest(application.withdraw_token_hash, token_hash):
        raise Rejected(not_found(INPUT, UNKNOWN_APPLICATION))
    return await move(write, application, Status.WITHDRAWN, values)


async def reviewed(write: Write, values: Values) -> m.Application:
    """The application under review that `applicationId` names, for the network office only
    (others learn nothing of it, not even whether it exists)."""
    write.allow(OFFICE, REVIEWERS_ONLY)
    return await write.find_by_id(m.Application, values["application_id"], APPLICATION)


def allow_step(application: m.Application, status: Status) -> None:
    """Refuse a step the application cannot take from its status."""
    if status not in TRANSITIONS.get(application.status, frozenset()):
        now = application.status.label_en.lower()
        message = f"The application is {now}: it cannot be {STEPS[status]}."
        raise Rejected(invalid_transition(APPLICATION, message))


async def move(
    write: Write,
    application: m.Application,
    status: Status,
    values: Values,
    changes: Values | None = None,
) -> m.Application:
    """Give the application its new `status` (and `changes`), recording the step with the
    input's `note`."""
    allow_step(application, status)
    note = checked(m.ApplicationStatusChange, {"note": values.get("note", "")})["note"]
    record_status(write, application, application.status, status, note)
    return await write.change(application, {"status": status} | (changes or {}))


def record_status(
    write: Write, application: m.Application, old: Status | None, new: Status, note: str
) -> None:
    """Record a step of the application, made by the viewer, and announce it (on commit)."""
    change = m.ApplicationStatusChange(
        application_id=application.id,
        from_status=old,
        to_status=new,
        changed_by=write.viewer.subject,
        note=note,
    )
    write.session.add(change)
    write.announce("application_status_changed", id=application.id)


def start(values: Values, name: str, application: m.Application) -> date:
    """The first day of what accepting creates: as given, as planned, or today."""
    return values.get(name, application.planned_start_on or date.today())


async def create_city(write: Write, application: m.Application, values: Values) -> Values:
    """The city of an accepted application, a member from today, with its local network."""
    name = values.get("name", application.organisation_name)
    place = {field: values.get(field) for field in ("population", "latitude", "longitude")}
    city = checked(
        m.City,
        {
            "slug": values.get("slug", slugify(name)),
            "name": name,
            "kind": application.city_kind,
            "state_code": application.state_code,
            "status": m.MembershipStatus.MEMBER,
            "joined_on": start(values, "joined_on", application),
        }
        | {field: value for field, value in place.items() if value is not None},
        complete=True,
    )
    return {"city_id": (await add_city(write, city)).id}


async def create_state_partnership(
    write: Write, application: m.Application, values: Values
) -> Values:
    """The partnership of the state whose institution applied."""
    partnership = checked(
        m.StatePartnership,
        {
            "state_code": application.state_code,
            "institution": application.organisation_name,
            "focus": values.get("focus", ""),
            "starts_on": start(values, "starts_on", application),
        },
        complete=True,
    )
    created = await write.add(m.StatePartnership(**partnership), partnership)
    return {"state_partnership_id": created.id}


async def create_funder(write: Write, application: m.Application, values: Values) -> Values:
    """The funder that applied as partner; the office names its kind."""
    if values.get("funder_kind") is None:
        raise Rejected(invalid(field_path("funder_kind"), "Must be given for a partner."))
    name = values.get("name", application.organisation_name)
    funder = checked(
        m.Funder,
        {
            "slug": values.get("slug", slugify(name)),
            "name": name,
            "kind": values["funder_kind"],
            "scope": values.get("funder_scope", m.FunderScope.NATIONWIDE),
        },
        complete=True,
    )
    created = await write.add(m.Funder(**funder), funder)
    return {"funder_id": created.id}


Create = Callable[[Write, m.Application, Values], Awaitable[Values]]
CREATE: dict[Kind, Create] = {
    Kind.CITY: create_city,
    Kind.STATE_PARTNER: create_state_partnership,
    Kind.PARTNER: create_funder,
}
