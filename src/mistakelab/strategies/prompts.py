"""Named prompt templates. Override any of them from a config's ``[prompts]`` table.

Templates are ``str.format`` strings; ``{question}`` is always available.
"""

from __future__ import annotations

#: Self-Refine feedback step: asked in the same conversation, right after the model's
#: solution, so the question and solution are not restated (and a backend with prefix
#: caching does not evaluate them again). No gold answer is involved.
SELF_REFINE_CRITIQUE = (
    "Review your solution above step by step: the reading of the problem, each calculation, "
    "and the final answer. If you find a mistake, describe the first one and how to fix it. "
    "End your reply with exactly one line: 'VERDICT: CORRECT' if the solution is right, "
    "or 'VERDICT: INCORRECT' if it has a mistake."
)

#: Self-Refine refinement step: rewrite the solution using the feedback just given.
SELF_REFINE_REFINE = (
    "Using this review, write a corrected, complete solution to the problem. "
    "Put the final answer in \\boxed{{}}."
)

DEFAULT_PROMPTS: dict[str, str] = {
    "SELF_REFINE_CRITIQUE": SELF_REFINE_CRITIQUE,
    "SELF_REFINE_REFINE": SELF_REFINE_REFINE,
}
