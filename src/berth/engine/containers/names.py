"""Container names: validation and the random ``adjective_noun`` names given to containers
created without ``--name`` (Docker's scheme; the word lists are berth's own: seafaring
adjectives and nouns, for a project named after a ship's berth)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from berth import errdefs

__all__ = ["random_name", "validate_name"]

_VALID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z")

_ADJECTIVES = (
    "amber", "ardent", "bold", "brave", "breezy", "bright", "calm", "clever", "coastal",
    "cosy", "crisp", "daring", "deep", "eager", "fair", "fleet", "gentle", "glad", "golden",
    "hardy", "honest", "jolly", "keen", "kind", "lively", "loyal", "lucky", "merry", "mighty",
    "nimble", "noble", "patient", "proud", "quick", "quiet", "rapid", "salty", "serene",
    "sharp", "silver", "snug", "steady", "stout", "sturdy", "swift", "tidal", "trusty",
    "vivid", "wary", "wise",
)  # fmt: skip
_NOUNS = (
    "anchor", "barque", "beacon", "bosun", "bow", "brig", "buoy", "cabin", "capstan",
    "compass", "corsair", "cove", "cutter", "dinghy", "dock", "ferry", "frigate", "galleon",
    "harbour", "helm", "hull", "jetty", "keel", "ketch", "lantern", "lighthouse", "mariner",
    "mast", "mooring", "navigator", "oar", "pier", "pilot", "quay", "rudder", "sail",
    "schooner", "sextant", "skiff", "sloop", "spar", "starboard", "stern", "tide", "tugboat",
    "voyager", "wharf", "yacht", "yawl", "zephyr",
)  # fmt: skip


def validate_name(name: str) -> str:
    """``name`` without a leading ``/``; InvalidArgument in Docker's words when invalid."""
    bare = name.removeprefix("/")
    if not _VALID.match(bare):
        raise errdefs.InvalidArgument(
            f'Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'
        )
    return bare


def random_name(taken: Callable[[str], bool], rng: random.Random | None = None) -> str:
    """A free ``adjective_noun`` name; a digit is appended after collisions, as Docker."""
    r = rng or random.SystemRandom()
    for attempt in range(100):
        name = f"{r.choice(_ADJECTIVES)}_{r.choice(_NOUNS)}"
        if attempt >= 3:
            name += str(r.randint(0, 9999))
        if not taken(name):
            return name
    raise errdefs.Internal("could not find a free container name")
