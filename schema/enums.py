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

describe_enum(models.SectorCode, "A sector of society (Sektor) actors belong to.")
describe_enum(
    models.SectorComposition,
    "How many sectors a local network brings together: three is trisectoral (about three "
    "quarters of the cities), more than three multisectoral (Multisektoralität).",
)
describe_enum(
    models.FunderKind, "What kind of organisation a funder is (Stiftung, Ministerium, ...)."
)
describe_enum(
    models.FunderScope, "Where a funder acts: nationwide, in named states, or on named themes."
)
describe_enum(
    models.ContributionType,
    "How a funder contributes: money, expertise, or an offer of its own.",
)
describe_enum(
    models.RecipientKind,
    "What a funding goes to: a local network, a measure, a state partnership or the network.",
)
describe_enum(
    models.ApplicationKind,
    "The three ways into the network: as a city, a state partner or a (funding) partner.",
)
describe_enum(
    models.ApplicationStatus,
    "Where an application stands: submitted, in review, accepted, rejected or withdrawn.",
)
describe_enum(
    models.Role,
    "What a caller may do: the network office everything, the others their own part.",
)

CityKind = models.CityKind
MembershipStatus = models.MembershipStatus
ActorRole = models.ActorRole
SectorCode = models.SectorCode
SectorComposition = models.SectorComposition
FunderKind = models.FunderKind
FunderScope = models.FunderScope
ContributionType = models.ContributionType
RecipientKind = models.RecipientKind
ApplicationKind = models.ApplicationKind
ApplicationStatus = models.ApplicationStatus
Role = models.Role
