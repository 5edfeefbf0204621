"""Names the chunk store accepts, checked before Chroma sees them."""

from __future__ import annotations

import re

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$")
_IPV4 = re.compile(r"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$")


def check_collection_name(name: str) -> str:
    """Check a Chroma collection name by Chroma's own rules.

    Mirrors ``chromadb.api.segment.check_index_name`` (chromadb 1.5.9; "mimics s3 bucket
    requirements"). It is mirrored rather than imported because importing ``chromadb`` takes about
    1.3 s, paid by every command that loads settings. Chroma's Rust client is more lenient (up to
    512 characters; ``999.1.1.1`` passes), so every name accepted here is accepted by the client;
    ``tests/test_store_names.py`` checks both against this function.

    Args:
        name: The collection name.

    Returns:
        ``name`` unchanged.

    Raises:
        ValueError: the name breaks a rule; the message lists the rules.
    """
    if 3 <= len(name) <= 63 and _NAME.match(name) and ".." not in name and not _IPV4.match(name):
        return name
    raise ValueError(
        "a collection name must (1) have 3-63 characters, (2) start and end with a letter or digit, "
        "(3) otherwise contain only letters, digits, '.', '_' or '-', (4) have no two consecutive "
        "periods (..) and (5) not be an IPv4 address (Chroma's rules)"
    )
