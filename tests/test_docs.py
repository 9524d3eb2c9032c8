"""The documentation as its readers get it: README.md and docs/ render with their tables as
tables and links that lead somewhere, their GraphQL and JSON are valid, the README stays short,
and every command and setting of the hub is described."""

import json
import re
from collections.abc import Iterator
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import typer
from graphql import ExecutableDefinitionNode, build_schema, validate
from markdown_it.token import Token
from typer.core import TyperGroup, TyperOption

from hub.cli import app
from hub.documents import slug
from tests.documents import (
    DOCUMENTS,
    README,
    REPOSITORY,
    code_blocks,
    graphql_documents,
    tokens,
    where,
)

README_LINE_BUDGET = 150
CLI_REFERENCE = REPOSITORY / "docs" / "cli.md"
CONFIGURATION_REFERENCE = REPOSITORY / "docs" / "configuration.md"
SCHEMA = build_schema((REPOSITORY / "schema.graphql").read_text())
# The code the hub runs, where it reads its environment.
HUB_CODE = [REPOSITORY / "server.py", *REPOSITORY.glob("hub/**/*.py")]
SETTING = re.compile(r"""["'](HUB_[A-Z0-9_]+|DATABASE_(?:REPLICA_)?URL)["']""")
SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:")

documents = pytest.mark.parametrize("path", DOCUMENTS, ids=where)


def inline_children(path: Path) -> Iterator[Token]:
    """Every inline token of the document: links, code spans, text."""
    for token in tokens(path):
        yield from token.children or []


def heading_text(path: Path) -> Iterator[str]:
    """The text of each heading, as it renders (code spans without their backticks)."""
    block = tokens(path)
    for opening, inline in pairwise(block):
        if opening.type == "heading_open":
            yield "".join(child.content for child in inline.children or [])


@cache
def anchors(path: Path) -> set[str]:
    """The anchors GitHub (and the hub's rendering) gives the document's headings."""
    found: set[str] = set()
    for text in heading_text(path):
        slug(text, found)
    return found


def broken(path: Path, link: str) -> str | None:
    """Why a link of the document leads nowhere, if it does not."""
    target, _, anchor = link.partition("#")
    file = (path.parent / unquote(target)).resolve() if target else path
    if not file.is_relative_to(REPOSITORY) or not file.exists():
        return "no such file"
    if anchor and file.suffix == ".md" and anchor not in anchors(file):
        return f"no heading #{anchor} in {where(file)}"
    return None


@documents
def test_links_lead_to_files_and_headings_that_exist(path: Path) -> None:
    links = [
        str(child.attrs["href"])
        for child in inline_children(path)
        if child.type == "link_open" and not SCHEME.match(str(child.attrs["href"]))
    ]
    problems = {link: broken(path, link) for link in links}
    assert not {link: why for link, why in problems.items() if why}


@documents
def test_tables_render_as_tables(path: Path) -> None:
    """A table split by a blank line renders its second part as a paragraph of pipes."""
    block = tokens(path)
    stray_rows = [
        f"{where(path)}:{inline.map[0] + 1 if inline.map else '?'}: {line}"
        for opening, inline in pairwise(block)
        if opening.type == "paragraph_open"
        for line in inline.content.splitlines()
        if line.lstrip().startswith("|")
    ]
    assert not stray_rows


def test_the_readme_stays_short() -> None:
    lines = len(README.read_text().splitlines())
    assert lines < README_LINE_BUDGET, "the references belong in docs/ (docs/index.md)"


@documents
def test_graphql_parses_and_operations_are_valid_in_the_schema(path: Path) -> None:
    """Every GraphQL block parses (SDL too); queries, mutations and subscriptions validate."""
    errors = [
        error.message
        for document in graphql_documents(path)
        if all(isinstance(node, ExecutableDefinitionNode) for node in document.definitions)
        for error in validate(SCHEMA, document)
    ]
    assert not errors


@documents
def test_json_parses(path: Path) -> None:
    for block in code_blocks(path, "json"):
        json.loads(block)


def commands(group: TyperGroup, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every command of the command line with its path (`keys create`), groups included."""
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        yield path, command
        if isinstance(command, TyperGroup):
            yield from commands(command, f"{path} ")


def section(text: str, heading: str) -> str:
    """The text under a `##` heading of a document, up to the next one."""
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    return next((part for part in parts if part.splitlines()[:1] == [heading]), "")


def option_names(command: Any) -> set[str]:
    """The command's options by their names (`--demo` of `--demo/--no-demo`), without --help."""
    return {
        name
        for parameter in command.params
        if isinstance(parameter, TyperOption)
        for name in parameter.opts
    } - {"--help"}


def test_every_command_and_option_is_in_the_cli_reference() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    reference = CLI_REFERENCE.read_text()
    missing = sorted(name for name in option_names(root) if name not in reference)
    for path, command in commands(root):
        if isinstance(command, TyperGroup):
            continue
        described = section(reference, f"`engagement-hub {path}`")
        if not described:
            missing.append(path)
        missing += [f"{path} {name}" for name in option_names(command) if name not in described]
    assert not missing


def test_every_setting_the_hub_reads_is_in_the_configuration_reference() -> None:
    read = {name for file in HUB_CODE for name in SETTING.findall(file.read_text())}
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \|", CONFIGURATION_REFERENCE.read_text(), re.M)
    assert read, "the pattern finds no setting any more"
    assert not read - set(rows)
