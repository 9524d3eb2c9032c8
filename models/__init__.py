"""The hub's SQLAlchemy models, one module per part of the domain; importing this registers all."""

from models.access import ApiKey, AuditEntry, Role
from models.base import Base, LabelledEnum
from models.contacts import ContactPerson
from models.funding import (
    ContributionType,
    Funder,
    FunderKind,
    FunderScope,
    FunderState,
    FunderTheme,
    Funding,
    RecipientKind,
)
from models.geography import City, CityKind, MembershipStatus, State, StatePartnership
from models.joining import Application, ApplicationKind, ApplicationStatus, ApplicationStatusChange
from models.network import (
    Actor,
    ActorRole,
    CityPartnership,
    Goal,
    LocalNetwork,
    Measure,
    Sector,
    SectorCode,
    SectorComposition,
    Theme,
    WorkingGroup,
    WorkingGroupMembership,
    measure_actors,
)
from models.statistics import NO_KEY, NO_STATE, StaleStatistics, StatisticsFigure
from models.views import SavedView

__all__ = [
    "NO_KEY",
    "NO_STATE",
    "Actor",
    "ActorRole",
    "ApiKey",
    "Application",
    "ApplicationKind",
    "ApplicationStatus",
    "ApplicationStatusChange",
    "AuditEntry",
    "Base",
    "City",
    "CityKind",
    "CityPartnership",
    "ContactPerson",
    "ContributionType",
    "Funder",
    "FunderKind",
    "FunderScope",
    "FunderState",
    "FunderTheme",
    "Funding",
    "Goal",
    "LabelledEnum",
    "LocalNetwork",
    "Measure",
    "MembershipStatus",
    "RecipientKind",
    "Role",
    "SavedView",
    "Sector",
    "SectorCode",
    "SectorComposition",
    "StaleStatistics",
    "State",
    "StatePartnership",
    "StatisticsFigure",
    "Theme",
    "WorkingGroup",
    "WorkingGroupMembership",
    "measure_actors",
]
