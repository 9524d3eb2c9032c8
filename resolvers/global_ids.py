"""Global IDs as the hub writes them, `base64("Type:key")`, and the one reading of those clients
send back: `node`, `nodes`, federation's `_entities` and mutation inputs all read them here.

Only the form the hub writes is an ID: one entity has one ID. Python's `int()` alone would read
`058`, `5_8`, ` 58`, `+58` and `٥٨` as 58, and base64's decoder skips characters outside its
alphabet, so each of those would be another name of the same row.
"""

import re
from typing import Any

from strawberry.relay.utils import from_base64, to_base64

# Identity columns are PostgreSQL integers: a larger number is no key (and no statement's value).
MAX_KEY = 2**31 - 1
# A key as `str(int)` writes it: ASCII digits, no sign, no leading zero, within MAX_KEY's length.
INTEGER_KEY = re.compile(r"[1-9][0-9]{0,9}")


def parts_of(global_id: str) -> tuple[str, str] | None:
    """The type name and key text of a global ID written as the hub writes it; None for
    anything else."""
    try:
        type_name, node_id = from_base64(global_id)
    except ValueError:  # strawberry's for malformed base64, text and lone surrogates
        return None
    return (type_name, node_id) if to_base64(type_name, node_id) == global_id else None


def key_in(node_id: str, key_type: type) -> Any:
    """The primary key a global ID's key text stands for, where the hub would write the key so
    (integers in decimal, within PostgreSQL's `integer`; text as it is); None elsewhere."""
    if key_type is not int:
        return node_id or None
    if not INTEGER_KEY.fullmatch(node_id) or int(node_id) > MAX_KEY:
        return None
    return int(node_id)


def key_of(global_id: str, type_name: str, key_type: type = int) -> Any:
    """The primary key a global ID of `type_name` stands for; None when it is no such ID."""
    parts = parts_of(global_id)
    if parts is None or parts[0] != type_name:
        return None
    return key_in(parts[1], key_type)
