"""The domain's enumerations in GraphQL: the models' own classes, described here.

Each value's description carries its English and German label, so GraphiQL shows both.
"""

import strawberry

import models


def describe_enum(enum_class: type[models.LabelledEnum], description: str) -> None:
    """Register `enum_class` as a GraphQL enum, describing each value by its labels."""
    strawberry.enum(enum_class, description=description)
    definition = enum_class.__strawberry_definition__  # type: ignore[attr-defined]
    for value in definition.values:
        member = enum_class[value.name]
        value.description = f"{member.label_en} ({member.label_de})."


describe_enum(
    models.CityKind,
    "Kind of municipality (Stadt, Gemeinde, Gemeindeverband, Bezirk, Landkreis).",
)
describe_enum(
    models.MembershipStatus,
    "Where a city stands in the network: candidate, member or former member.",
)
describe_enum(
    models.ActorRole,
    "The part an actor plays in its local network (coordinator = Anlaufstelle).",
)

CityKind = models.CityKind
MembershipStatus = models.MembershipStatus
ActorRole = models.ActorRole
