"""Names and role pairs for knights-and-knaves puzzles.

Example:
    >>> role_phrase("angel")
    'an angel'
    >>> plural("hero")
    'heroes'
"""

from __future__ import annotations

#: Given names for inhabitants. None is an English word, a role word or a stop word, so the
#: answer parsers can treat any capitalised word from this pool as a name.
NAMES: tuple[str, ...] = (
    "Zoey", "Oliver", "Max", "Lily", "Ethan", "Sofia", "Liam", "Emma", "Noah", "Ava",
    "Mia", "Lucas", "Aria", "Henry", "Chloe", "Jack", "Ruby", "Owen", "Nora", "Caleb",
    "Ella", "Isaac", "Hazel", "Samuel", "Stella", "Aiden", "Violet", "Mason", "Luna", "Elijah",
    "Layla", "Gabriel", "Aurora", "Wyatt", "Penelope", "Julian", "Scarlett", "Levi", "Ivy",
    "David", "Riley", "Joseph", "Maya", "Daniel", "Sophia", "Evelyn", "Logan", "Harper",
    "Benjamin", "Amelia", "Jacob", "Abigail", "Michael", "Emily", "Alexander", "Elizabeth",
    "Sebastian", "Camila", "Mateo", "Victoria", "Aisha", "Kenji", "Priya", "Omar", "Ingrid",
    "Tariq", "Yuki", "Rafael", "Leilani", "Dmitri",
)

#: Role pairs ``(truthful, lying)`` by name; the default pair is ``knight/knave``.
ROLE_PAIRS: dict[str, tuple[str, str]] = {
    "knight/knave": ("knight", "knave"),
    "truth-teller/liar": ("truth-teller", "liar"),
    "angel/devil": ("angel", "devil"),
    "sage/fool": ("sage", "fool"),
    "hero/villain": ("hero", "villain"),
    "saint/sinner": ("saint", "sinner"),
}

DEFAULT_ROLES: tuple[str, str] = ROLE_PAIRS["knight/knave"]

_IRREGULAR_PLURALS = {"hero": "heroes"}


def plural(role: str) -> str:
    """Plural of a role word."""
    return _IRREGULAR_PLURALS.get(role, role + "s")


def article(word: str) -> str:
    """``a`` or ``an`` for ``word``."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def role_phrase(role: str) -> str:
    """The role with its indefinite article, e.g. ``a knight``."""
    return f"{article(role)} {role}"


def resolve_roles(roles: str | tuple[str, str] | list[str] | None) -> tuple[str, str]:
    """A role pair from a pair name (``"angel/devil"``), any ``"a/b"`` string or a 2-sequence.

    Example:
        >>> resolve_roles("sage/fool")
        ('sage', 'fool')
    """
    if roles is None:
        return DEFAULT_ROLES
    if isinstance(roles, str):
        if roles in ROLE_PAIRS:
            return ROLE_PAIRS[roles]
        parts = roles.split("/")
    else:
        parts = list(roles)
    parts = [p.strip().lower() for p in parts]
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise ValueError(f"a role pair needs two different names, got {roles!r}")
    return parts[0], parts[1]
