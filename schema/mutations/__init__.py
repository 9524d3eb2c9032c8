"""The mutations, one module per part of the domain, assembled into one type."""

import strawberry

from schema.contracts import INTERNAL
from schema.mutations.cities import CityMutation
from schema.mutations.contacts import ContactMutation
from schema.mutations.funding import FundingMutation
from schema.mutations.joining import JoiningMutation
from schema.mutations.network import NetworkMutation
from schema.mutations.office import OfficeMutation
from schema.mutations.privacy import PrivacyMutation
from schema.mutations.views import ViewMutation


@strawberry.type(
    description="Writes to the network. Each mutation is one transaction: it returns its "
    "result, or typed user errors and writes nothing.",
    # All need a credential but applying, whose answer holds the application: no part of a
    # supergraph's public contract (schema/contracts.py).
    directives=INTERNAL,
)
class Mutation(
    # One base class per part of the domain.
    JoiningMutation,
    CityMutation,
    NetworkMutation,
    ContactMutation,
    FundingMutation,
    OfficeMutation,
    ViewMutation,
    PrivacyMutation,
):
    pass
