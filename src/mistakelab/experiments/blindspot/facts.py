"""Level 1 of the blind-spot experiment: trivial templated facts, each with a wrong answer
one step off (Self-Correction Bench's simplest level; METHODS §2.5).

Eight kinds, in turn: add one, subtract one, the next and the previous letter, the larger
and the smaller of two numbers, how often a letter occurs in a word, how many 1s a binary
string has. The wrong answer is one step from the right one (the neighbouring number or
letter, the other of the two numbers). Problem ``i`` of a seed depends only on (seed, i).

Example:
    >>> task = FactsTask()
    >>> [p.metadata["kind"] for p in task.load(3, seed=0)]
    ['add_one', 'subtract_one', 'next_letter']
    >>> p = task.load(1, seed=0)[0]
    >>> p.question.endswith("+ 1?"), task.check(p, p.metadata["wrong"]).correct, task.check(p, p.answer).correct
    (True, False, True)
"""

from __future__ import annotations

import random
import string
from typing import Callable

from mistakelab.core.types import Problem, Verdict
from mistakelab.tasks.base import Task

# Everyday words with repeated letters, so a count can be more than one.
WORDS = (
    "banana", "strawberry", "committee", "bookkeeper", "mississippi", "balloon", "coffee", "letter",
    "success", "address", "possession", "parallel", "engineer", "assessment", "pepper", "occurrence",
    "millennium", "referee", "giraffe", "necessary", "tomorrow", "accommodate", "different", "hippopotamus",
)

Fact = tuple[str, str, str]  # question, right answer, wrong answer
LETTERS = string.ascii_lowercase


def _add_one(rng: random.Random) -> Fact:
    a = rng.randint(10, 998)
    return f"What is {a} + 1?", str(a + 1), str(a + rng.choice((0, 2)))


def _subtract_one(rng: random.Random) -> Fact:
    a = rng.randint(11, 999)
    return f"What is {a} - 1?", str(a - 1), str(a - rng.choice((0, 2)))


def _next_letter(rng: random.Random) -> Fact:
    i = rng.randint(0, 23)
    return f"Which letter comes right after '{LETTERS[i]}' in the English alphabet?", LETTERS[i + 1], LETTERS[i + 2]


def _previous_letter(rng: random.Random) -> Fact:
    i = rng.randint(2, 25)
    return (f"Which letter comes right before '{LETTERS[i]}' in the English alphabet?",
            LETTERS[i - 1], LETTERS[i - 2])


def _pair(rng: random.Random) -> tuple[int, int]:
    a, b = rng.sample(range(10, 1000), 2)
    return a, b


def _larger(rng: random.Random) -> Fact:
    a, b = _pair(rng)
    return f"Which number is larger, {a} or {b}?", str(max(a, b)), str(min(a, b))


def _smaller(rng: random.Random) -> Fact:
    a, b = _pair(rng)
    return f"Which number is smaller, {a} or {b}?", str(min(a, b)), str(max(a, b))


def _letter_count(rng: random.Random) -> Fact:
    word = rng.choice(WORDS)
    letter = rng.choice(sorted(set(word)))
    n = word.count(letter)
    wrong = n + 1 if n == 1 or rng.random() < 0.5 else n - 1
    return f"How many times does the letter '{letter}' appear in the word '{word}'?", str(n), str(wrong)


def _binary_ones(rng: random.Random) -> Fact:
    bits = "".join(rng.choice("01") for _ in range(rng.randint(6, 12)))
    n = bits.count("1")
    wrong = n + 1 if n == 0 or rng.random() < 0.5 else n - 1
    return f"How many 1s are in the binary string {bits}?", str(n), str(wrong)


KINDS: dict[str, Callable[[random.Random], Fact]] = {
    "add_one": _add_one, "subtract_one": _subtract_one, "next_letter": _next_letter,
    "previous_letter": _previous_letter, "larger": _larger, "smaller": _smaller,
    "letter_count": _letter_count, "binary_ones": _binary_ones,
}

#: The wrong answer as the model (or the user) states it.
ERROR_TEMPLATE = "The answer is \\boxed{{{wrong}}}."


class FactsTask(Task):
    """Templated facts with gold answers and a wrong answer one step off (``metadata``:
    ``kind``, ``wrong``). Answers are compared ignoring case (letters)."""

    name = "blindspot_facts"
    answer_format = "Put the final answer in \\boxed{}."

    def load(self, n: int | None, seed: int) -> list[Problem]:
        kinds = list(KINDS)
        out = []
        for i in range(len(kinds) if n is None else n):
            kind = kinds[i % len(kinds)]
            question, right, wrong = KINDS[kind](random.Random(f"facts-{seed}-{i}"))
            out.append(Problem(id=f"fact-{seed}-{i}", question=question, answer=right,
                               metadata={"kind": kind, "wrong": wrong}))
        return out

    def check(self, problem: Problem, answer: str | None, method: str = "given") -> Verdict:
        if answer is not None and problem.answer.isalpha():
            answer = answer.strip().strip("'\"").lower()
        return super().check(problem, answer, method)
