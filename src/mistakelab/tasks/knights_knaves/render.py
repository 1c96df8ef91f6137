"""Turn statement ASTs into English: the puzzle text and the answer string.

Phrasing is drawn from a ``random.Random`` seeded by the puzzle's ``render_seed`` and the
speaker's index, and the draws depend only on the statement's shape, so renaming people or
roles keeps every other word of the puzzle.

Example:
    >>> render_statement(("or", ("knave", 1), ("knight", 0)), 0, ["Zoey", "Oliver"],
    ...                  ("knight", "knave"), "seed")
    'Oliver is a knave or I am a knight'
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from mistakelab.tasks.knights_knaves.logic import Stmt, is_leaf, people
from mistakelab.tasks.knights_knaves.vocab import plural, role_phrase

# Direct speech keeps "I am ..."; indirect speech names the speaker instead, so it is used
# only for statements that never mention their speaker.
_DIRECT = (
    '{name} says, "{s}."',
    '{name} claims, "{s}."',
    'In {name}\'s words: "{s}."',
    '{name} states: "{s}."',
    'According to {name}, "{s}."',
)
_INDIRECT = (
    "{name} claims that {s}.",
    "{name} tells you that {s}.",
)


def _leaf(s: Stmt, speaker: int, names: Sequence[str], roles: tuple[str, str], direct: bool) -> str:
    role = roles[0] if s[0] == "knight" else roles[1]
    if s[1] == speaker and direct:
        return f"I am {role_phrase(role)}"
    return f"{names[s[1]]} is {role_phrase(role)}"


def _render(s: Stmt, speaker: int, names: Sequence[str], roles: tuple[str, str], rng: random.Random,
            direct: bool) -> str:
    def sub(c: Stmt) -> str:
        text = _render(c, speaker, names, roles, rng, direct)
        # Compound operands are bracketed (English has no precedence rules); "X is not a
        # knight" reads as one unit and needs none.
        plain = is_leaf(c) or (c[0] == "not" and not text.startswith("it is not"))
        return text if plain else f"({text})"

    op = s[0]
    if is_leaf(s):
        return _leaf(s, speaker, names, roles, direct)
    if op == "not":
        inner = s[1]
        if is_leaf(inner) and rng.random() < 0.5:
            role = roles[0] if inner[0] == "knight" else roles[1]
            who = "I am" if inner[1] == speaker and direct else f"{names[inner[1]]} is"
            return f"{who} not {role_phrase(role)}"
        return f"it is not the case that {sub(inner)}"
    parts = [sub(c) for c in s[1:]]
    if op in ("and", "or"):
        joined = ", ".join(parts[:-1]) + f" {op} " + parts[-1] if len(parts) > 2 else f" {op} ".join(parts)
        if len(parts) == 2 and rng.random() < 0.4:
            return ("both " if op == "and" else "either ") + joined
        return joined
    if op == "if":
        return f"if {parts[0]}, then {parts[1]}"
    if op == "iff":
        return f"{parts[0]} if and only if {parts[1]}"
    raise ValueError(f"unknown operator {op!r}")


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def render_statement(s: Stmt, speaker: int, names: Sequence[str], roles: tuple[str, str],
                     render_seed: str, direct: bool = True) -> str:
    """The statement as the speaker words it (direct speech: "I am ..."), no final period."""
    rng = random.Random(f"{render_seed}:{speaker}")
    rng.random()  # the first draw picks the intro template (see render_line)
    text = _render(s, speaker, names, roles, rng, direct)
    return _capitalize(text) if direct else text


def render_line(s: Stmt, speaker: int, names: Sequence[str], roles: tuple[str, str],
                render_seed: str) -> str:
    """One line of the puzzle: who says what, in a phrasing drawn from ``render_seed``."""
    rng = random.Random(f"{render_seed}:{speaker}")
    pick = rng.random()
    name = names[speaker]
    if speaker not in people(s) and pick < 0.3:
        tpl = _INDIRECT[int(pick / 0.3 * len(_INDIRECT))]
        text = render_statement(s, speaker, names, roles, render_seed, direct=False)
        return tpl.format(name=name, s=text)
    tpl = _DIRECT[int(pick * len(_DIRECT)) % len(_DIRECT)]
    return tpl.format(name=name, s=render_statement(s, speaker, names, roles, render_seed))


def join_names(names: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def render_question(statements: Sequence[Stmt], names: Sequence[str], roles: tuple[str, str],
                    order: Sequence[int], render_seed: str) -> str:
    """The full puzzle text; statements appear in ``order``."""
    good, bad = roles
    lines = [
        f"A very special island is inhabited only by {plural(good)} and {plural(bad)}. "
        f"{_capitalize(plural(good))} always tell the truth, and {plural(bad)} always lie.",
        f"You meet {len(names)} inhabitants: {join_names(names)}.",
    ]
    lines += [render_line(statements[i], i, names, roles, render_seed) for i in order]
    lines.append(f"So who is {role_phrase(good)} and who is {role_phrase(bad)}?")
    return "\n".join(lines)


def render_answer(names: Sequence[str], assignment: int, roles: tuple[str, str]) -> str:
    """Canonical answer string, people in order of introduction.

    Example:
        >>> render_answer(["Zoey", "Oliver"], 0b01, ("knight", "knave"))
        'Zoey: knight; Oliver: knave'
    """
    return "; ".join(f"{n}: {roles[0] if assignment >> i & 1 else roles[1]}" for i, n in enumerate(names))


def conclusion_line(names: Sequence[str], assignment: int, roles: tuple[str, str]) -> str:
    """The final answer line of a solution: ``CONCLUSION: (1) Zoey is a knight (2) ...``."""
    items = [f"({i + 1}) {n} is {role_phrase(roles[0] if assignment >> i & 1 else roles[1])}"
             for i, n in enumerate(names)]
    return "CONCLUSION: " + " ".join(items)
