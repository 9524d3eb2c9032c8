"""The mutations, one module per part of the domain, assembled into one type."""

import strawberry

from schema.mutations.funding import FundingMutation
from schema.mutations.joining import JoiningMutation
from schema.mutations.network import NetworkMutation
from schema.mutations.office import OfficeMutation
from schema.mutations.privacy import PrivacyMutation
from schema.mutations.views import ViewMutation


@strawberry.type(
    description="Writes to the network. Each mutation is one transaction: it returns its "
    "result, or typed user errors and writes nothing."
)
class Mutation(
    # One base class per part of the domain.
    JoiningMutation,
    NetworkMutation,
    FundingMutation,
    OfficeMutation,
    ViewMutation,
    PrivacyMutation,
):
    pass
