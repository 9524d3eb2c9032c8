"""The rights of data subjects (DSGVO): access to and erasure of what the hub holds about a
person, found by e-mail address, and the end of keeping applicants' contacts.

Personal data lives in contact persons (of cities, actors, funders, state partnerships and
applicants); the audit log names their fields without values. An address can also stand in
any text someone typed (a description, a review note, an API key's name) or in a token's
subject (the audit log, the review steps): access and erasure search every text column of
every table for it.
"""

import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Enum,
    String,
    Table,
    Text,
    cast,
    func,
    inspect,
    or_,
    select,
)
from strawberry.relay import to_base64
from strawberry.utils.str_converters import to_camel_case

import models as m
from models import ApplicationStatus as Status
from resolvers.access import OFFICE
from resolvers.mutations.ids import model_of
from resolvers.mutations.validation import Values, checked, field_path
from resolvers.mutations.write import WITHHELD, Write, column_values, jsonable

OFFICE_ONLY = "Only the network office serves the rights of data subjects."
EMAIL = field_path("email")
# What stands in a text, or in the audit log, where erased personal data stood.
ERASED = "(erased)"
# A contact person's personal data (its columns marked so); the others say whose contact it is.
PERSONAL_COLUMNS = tuple(
    column.key for column in m.ContactPerson.__table__.columns if column.info.get("personal")
)
# What a contact person can be the contact of: the column naming it, and its name's column.
CONTACT_OF = {
    "city_id": (m.City, "name"),
    "actor_id": (m.Actor, "name"),
    "funder_id": (m.Funder, "name"),
    "state_partnership_id": (m.StatePartnership, "institution"),
    "application_id": (m.Application, "organisation_name"),
}
# The ends of an application after which its contact is kept for the retention period only.
CLOSED = (Status.REJECTED, Status.WITHDRAWN)
# A character of an address's local part: a match must not be the end of a longer address.
ADDRESS_CHARACTER = r"[\w.!#$%&'*+/=?^`{|}~-]"


@dataclass(frozen=True)
class PersonalDataReport:
    """Everything the hub holds about one person, as one JSON document."""

    document: dict[str, Any]


@dataclass(frozen=True)
class Erasure:
    """What an erasure changed: rows removed, and rows whose texts named the person."""

    contact_persons: int
    application_contacts: int
    audit_entries: int
    other_entries: int


async def report(write: Write, values: Values) -> PersonalDataReport:
    """Everything the hub holds about the person of the address `email` (the office only)."""
    write.allow(OFFICE, OFFICE_ONLY)
    address = address_of(values)
    contacts = await contacts_of(write, address)
    audit = await audit_of_contacts(write, contacts)
    mentions = []
    for entity, erased in await naming(write, address):
        if isinstance(entity, m.AuditEntry):
            audit.append(entity)
        elif not (isinstance(entity, m.ContactPerson) and entity in contacts):
            mentions.append(mention_document(entity, erased))
    applications = [contact.application_id for contact in contacts if contact.application_id]
    document = {
        "email": address,
        "contactPersons": [await contact_document(write, contact) for contact in contacts],
        "applications": [await application_document(write, key) for key in applications],
        "auditEntries": [audit_document(entry) for entry in unique_by_time(audit)],
        "mentions": mentions,
    }
    return PersonalDataReport(document)


async def erase(write: Write, values: Values) -> Erasure:
    """Erase the person of the address `email` everywhere (the office only): remove their
    contact persons, erase their values from the audit log and the address from every text.
    Each row changed is audited, naming the fields erased without values."""
    write.allow(OFFICE, OFFICE_ONLY)
    address = address_of(values)
    contacts = await contacts_of(write, address, locked=True)
    audit_entries = await erase_contacts(write, contacts)
    others = 0
    for entity, erased in await naming(write, address, locked=True):
        for name, text in erased.items():
            setattr(entity, name, fitted(entity, name, text))
        write.audit(entity, dict.fromkeys(erased, ERASED))
        if isinstance(entity, m.AuditEntry):
            audit_entries.add(entity.id)
        else:
            others += 1
    await write.session.flush()
    applicants = sum(contact.application_id is not None for contact in contacts)
    return Erasure(
        contact_persons=len(contacts) - applicants,
        application_contacts=applicants,
        audit_entries=len(audit_entries),
        other_entries=others,
    )


async def purge_application_contacts(write: Write, retention_days: int) -> dict[Status, int]:
    """Erase the contact persons of the applications rejected or withdrawn more than
    `retention_days` days ago; how many of each status."""
    ended = select(m.ApplicationStatusChange.application_id).where(
        m.ApplicationStatusChange.to_status.in_(CLOSED),
        m.ApplicationStatusChange.changed_at < func.now() - timedelta(days=retention_days),
    )
    statement = (
        select(m.ContactPerson, m.Application.status)
        .join(m.Application, m.Application.id == m.ContactPerson.application_id)
        .where(m.Application.status.in_(CLOSED), m.Application.id.in_(ended))
        .order_by(m.ContactPerson.id)
        .with_for_update(of=m.ContactPerson)
    )
    rows = (await write.session.execute(statement)).all()
    await erase_contacts(write, [contact for contact, _status in rows])
    counts = Counter(status for _contact, status in rows)
    return {status: counts[status] for status in CLOSED}


def address_of(values: Values) -> str:
    """The e-mail address the input names, checked as a contact person's is."""
    address: str = checked(m.ContactPerson, {"email": values["email"]})["email"]
    return address


async def contacts_of(write: Write, address: str, locked: bool = False) -> list[m.ContactPerson]:
    """The contact persons of the address (in any case), oldest first; `locked` until the
    write ends."""
    statement = (
        select(m.ContactPerson)
        .where(func.lower(m.ContactPerson.email) == address.lower())
        .order_by(m.ContactPerson.id)
    )
    return list(await write.session.scalars(statement.with_for_update() if locked else statement))


async def audit_of_contacts(write: Write, contacts: list[m.ContactPerson]) -> list[m.AuditEntry]:
    """The audit entries of the writes of these contact persons."""
    statement = select(m.AuditEntry).where(
        m.AuditEntry.entity_type == m.ContactPerson.__name__,
        m.AuditEntry.entity_id.in_([str(contact.id) for contact in contacts]),
    )
    return list(await write.session.scalars(statement))


async def erase_contacts(write: Write, contacts: list[m.ContactPerson]) -> set[int]:
    """Remove these contact persons, and erase the values of their personal columns from
    their audit entries; the IDs of the audit entries changed so."""
    changed = set()
    for entry in await audit_of_contacts(write, contacts):
        erased = {
            name: ERASED
            for name, value in entry.changes.items()
            if name in PERSONAL_COLUMNS and value not in (None, WITHHELD, ERASED)
        }
        if erased:
            entry.changes = entry.changes | erased
            write.audit(entry, {"changes": ERASED})
            changed.add(entry.id)
    for contact in contacts:
        await write.remove(contact, EMAIL)
    return changed


async def naming(write: Write, address: str, locked: bool = False) -> list[tuple[m.Base, Values]]:
    """Every row with a text naming the address, with those texts as they are once the
    address is erased from them, by attribute; `locked` until the write ends. Every text
    column of every table is searched, the texts in JSON values too."""
    await write.session.flush()
    pattern = address_pattern(address)
    found = []
    for table in m.Base.metadata.sorted_tables:
        columns = text_columns(table)
        if not columns:
            continue
        holding = [searchable(column).icontains(address, autoescape=True) for column in columns]
        statement = select(model_of(table)).where(or_(*holding))
        if locked:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        for entity in await write.session.scalars(statement):
            texts = {column.key: getattr(entity, column.key) for column in columns}
            erased = {name: erased_in(text, pattern) for name, text in texts.items()}
            changed = {name: text for name, text in erased.items() if text != texts[name]}
            if changed:
                found.append((entity, changed))
    return found


def text_columns(table: Table) -> list[Column[Any]]:
    """The columns of `table` that hold texts: strings and JSON, not enums."""
    return [
        column
        for column in table.columns
        if isinstance(column.type, (String, JSON)) and not isinstance(column.type, Enum)
    ]


def searchable(column: Column[Any]) -> ColumnElement[Any]:
    """The column as text a LIKE can search (JSON as its text)."""
    return cast(column, Text) if isinstance(column.type, JSON) else column


def address_pattern(address: str) -> re.Pattern[str]:
    """The address in a text, in any case, but not as a part of a longer address."""
    return re.compile(
        rf"(?<!{ADDRESS_CHARACTER}){re.escape(address)}(?![\w-]|\.[\w-])", re.IGNORECASE
    )


def erased_in(value: Any, pattern: re.Pattern[str]) -> Any:
    """`value` with every match of `pattern` erased from its texts (a JSON value's too)."""
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, dict):
        return {name: erased_in(item, pattern) for name, item in value.items()}
    if isinstance(value, list):
        return [erased_in(item, pattern) for item in value]
    return value


def fitted(entity: m.Base, name: str, value: Any) -> Any:
    """`value` cut to the length of the column `name` (erasing a short address makes a text
    longer)."""
    column_type = inspect(entity).mapper.columns[name].type
    length = column_type.length if isinstance(column_type, String) else None
    return value[:length] if isinstance(value, str) and length else value


# --- The report's document: the API's names (camel case), values as JSON -----------------


async def contact_document(write: Write, contact: m.ContactPerson) -> dict[str, Any]:
    """A contact person: the person's data, and whose contact they are."""
    column, (model, name) = next(
        (column, owner) for column, owner in CONTACT_OF.items() if getattr(contact, column)
    )
    owner = await write.session.get(model, getattr(contact, column))
    assert owner is not None, "a contact person's entry goes with it"
    whose = {"type": model.__name__, "id": global_id(owner), "name": getattr(owner, name)}
    fields = fields_of(contact, leave_out=("id", *CONTACT_OF))
    return {"id": global_id(contact)} | fields | {"contactOf": whose}


async def application_document(write: Write, key: int) -> dict[str, Any]:
    """An application the person is the contact of, with its review steps."""
    application = await write.session.get(m.Application, key)
    assert application is not None, "a contact person's application goes with it"
    steps = await write.session.scalars(
        select(m.ApplicationStatusChange)
        .where(m.ApplicationStatusChange.application_id == key)
        .order_by(m.ApplicationStatusChange.changed_at, m.ApplicationStatusChange.id)
    )
    # The withdraw token's hash is a secret, and what accepting created is in `contactOf`.
    secret_and_results = (
        "id",
        "withdraw_token_hash",
        "city_id",
        "state_partnership_id",
        "funder_id",
    )
    return (
        {"id": global_id(application)}
        | fields_of(application, leave_out=secret_and_results)
        | {"statusChanges": [fields_of(step, leave_out=("id", "application_id")) for step in steps]}
    )


def audit_document(entry: m.AuditEntry) -> dict[str, Any]:
    """An audit entry as `auditLog` shows it."""
    fields = fields_of(entry, leave_out=("id",))
    return fields | {"entityId": to_base64(entry.entity_type, entry.entity_id)}


def mention_document(entity: m.Base, erased: Values) -> dict[str, Any]:
    """An entry with texts naming the person: those texts, by field."""
    texts = {to_camel_case(name): jsonable(getattr(entity, name)) for name in erased}
    return {"type": type(entity).__name__, "id": global_id(entity), "fields": texts}


def fields_of(entity: m.Base, leave_out: tuple[str, ...]) -> dict[str, Any]:
    """An entry's columns by field name, but those to `leave_out`, with JSON values."""
    return {
        to_camel_case(name): jsonable(value)
        for name, value in column_values(entity).items()
        if name not in leave_out
    }


def global_id(entity: m.Base) -> str:
    """The global ID of an entry, as the audit log names its key."""
    keys = inspect(entity).identity or ()
    return to_base64(type(entity).__name__, ":".join(str(key) for key in keys))


def unique_by_time(entries: list[m.AuditEntry]) -> list[m.AuditEntry]:
    """The entries, each once, the oldest first."""
    return sorted(set(entries), key=lambda entry: (entry.recorded_at, entry.id))
