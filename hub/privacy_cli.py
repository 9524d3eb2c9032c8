"""`engagement-hub privacy`: the rights of data subjects (DSGVO) on the command line.

What the network office's mutations do (`reportPersonalData`, `erasePersonalData`), and the
retention limit on applicants' contacts, which an operator schedules. The commands write as
the network office, and their audit entries name the subject `cli`.
"""

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from resolvers.mutations.write import Write

T = TypeVar("T")
SUBJECT = "cli"

privacy = typer.Typer(
    rich_markup_mode=None,
    help="The rights of data subjects (DSGVO): access, erasure, and the end of keeping "
    "applicants' contacts.",
    no_args_is_help=True,
)
Email = Annotated[str, typer.Argument(metavar="EMAIL", help="The person's e-mail address.")]


@privacy.command("access")
def access(
    email: Email,
    output: Annotated[
        Path | None, typer.Option(help="Write the document to this file; none: stdout.")
    ] = None,
) -> None:
    """Print everything the hub holds about a person as one JSON document (Art. 15)."""
    from resolvers.mutations import privacy as rights

    report = as_office("reportPersonalData", lambda write: rights.report(write, {"email": email}))
    text = json.dumps(report.document, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@privacy.command("erase")
def erase(
    email: Email,
    yes: Annotated[bool, typer.Option("--yes", help="Erase without asking first.")] = False,
) -> None:
    """Erase a person's data everywhere (Art. 17); it cannot be undone.

    Their contact persons are removed; their values in the audit log and their address in
    every text become `(erased)`."""
    from resolvers.mutations import privacy as rights

    if not yes:
        typer.confirm(f"Erase everything the hub holds about {email}?", abort=True)
    erasure = as_office("erasePersonalData", lambda write: rights.erase(write, {"email": email}))
    typer.echo(f"contact persons removed: {erasure.contact_persons}")
    typer.echo(f"application contacts removed: {erasure.application_contacts}")
    typer.echo(f"audit entries erased in: {erasure.audit_entries}")
    typer.echo(f"other entries erased in: {erasure.other_entries}")


@privacy.command("purge")
def purge() -> None:
    """Erase the contacts of applications that ended long ago; schedule it, e.g. daily.

    Those of applications rejected or withdrawn more than
    HUB_APPLICATION_CONTACT_RETENTION_DAYS (180) days ago."""
    from hub.config import Settings
    from resolvers.mutations import privacy as rights

    days = Settings.from_env().application_contact_retention_days
    erased = as_office(
        "purgeApplicationContacts",
        lambda write: rights.purge_application_contacts(write, days),
    )
    counts = " and ".join(f"{count} {status.value}" for status, count in erased.items())
    typer.echo(f"Erased the contacts of {counts} applications ended over {days} days ago.")


def as_office(operation: str, work: "Callable[[Write], Awaitable[T]]") -> T:
    """Run `work` in one transaction as the network office, audited as `operation`; refused,
    the command ends with the reasons."""
    from hub.cli import fail, in_transaction
    from models import Role
    from resolvers.access import Viewer
    from resolvers.mutations.problems import Rejected
    from resolvers.mutations.write import Write

    office = Viewer(role=Role.ADMIN, subject=SUBJECT)
    try:
        return in_transaction(lambda session: work(Write(session, office, operation)))
    except Rejected as rejected:
        fail("; ".join(problem.message for problem in rejected.problems))
