"""Named prompt templates. Override any of them from a config's ``[prompts]`` table.

Templates are ``str.format`` strings; ``{question}`` is always available.
"""

from __future__ import annotations

#: Self-Refine feedback step: the same model reviews its own solution (no gold answer).
SELF_REFINE_CRITIQUE = (
    "Here is a math problem and a proposed solution.\n\n"
    "Problem:\n{question}\n\n"
    "Proposed solution:\n{solution}\n\n"
    "Check the solution step by step: the reading of the problem, each calculation, and the "
    "final answer. If you find a mistake, describe the first one and how to fix it. "
    "End your reply with exactly one line: 'VERDICT: CORRECT' if the solution is right, "
    "or 'VERDICT: INCORRECT' if it has a mistake."
)

#: Self-Refine refinement step: rewrite the solution using the feedback.
SELF_REFINE_REFINE = (
    "Here is feedback on your solution:\n\n{critique}\n\n"
    "Using this feedback, write a corrected, complete solution to the problem. "
    "Put the final answer in \\boxed{{}}."
)

DEFAULT_PROMPTS: dict[str, str] = {
    "SELF_REFINE_CRITIQUE": SELF_REFINE_CRITIQUE,
    "SELF_REFINE_REFINE": SELF_REFINE_REFINE,
}
