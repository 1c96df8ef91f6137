"""``mcts``: Monte Carlo tree search over solution steps (step-level MCTS as in rStar, Qi et
al. 2024, without its mutual verification; METHODS §2.18).

Nodes are partial solutions; a child adds one step (expansion, scoring and finishing:
:mod:`mistakelab.strategies.step_search`). Each of ``simulations`` rounds: **select** from the
root by UCT (``value/visits + c * sqrt(ln parent_visits / visits)``) while a node has its
``expand`` children; **expand** it by one sampled step (unless it is finished or at
``max_depth``); **roll out** the new node to a finished solution in one call; **back up** the
reward along the path. ``reward="agreement"`` (default): the share of all rollouts so far whose
answer equals this one's; ``reward="score"``: the rollout's step-scorer aggregate (``scorer``,
``agg``). The final answer is the majority over rollouts (agreement) or the best-scored
rollout (score); the rollouts it is chosen from are the samples.

``verify="mutual"`` (rStar's mutual consistency): each rollout with an answer is cut after the
first ``1 - mask`` of its steps, and the ``discriminator`` role (greedy) completes it from
there; a rollout whose completion reaches the same answer is confirmed, and only confirmed
rollouts are chosen from (all of them when none is). rStar's richer actions (sub-questions,
rephrasing) are not implemented. The solver (and the discriminator) need ``continue``.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.core.events import NoteEvent, StopEvent
from mistakelab.scorers import Aggregation, ScorerSpec
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.step_search import SEARCH_NEEDS, Partial, StepSearch, StepSearchParams


class MctsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    simulations: int = Field(default=8, ge=1)
    expand: int = Field(default=2, ge=1)  # children per node before selection descends
    c: float = Field(default=1.4, ge=0)  # UCT exploration weight
    max_depth: int = Field(default=6, ge=1)
    step_tokens: int = Field(default=160, ge=1)
    temperature: float = Field(default=0.7, gt=0)
    stop: tuple[str, ...] = ("\n\n",)
    reward: Literal["agreement", "score"] = "agreement"
    scorer: ScorerSpec = "arithmetic_step"  # scores each new step (no model call by default)
    agg: Aggregation = "min"
    verify: Literal["none", "mutual"] = "none"
    mask: float = Field(default=0.5, gt=0, le=1)  # share of a rollout's steps the discriminator rewrites

    def search(self) -> StepSearchParams:
        return StepSearchParams(expand=1, step_tokens=self.step_tokens, temperature=self.temperature,
                                stop=self.stop, scorer=self.scorer, agg=self.agg,
                                final="vote" if self.reward == "agreement" else "best")


@dataclass
class Node:
    partial: Partial
    parent: "Node | None" = None
    depth: int = 0
    children: list["Node"] = field(default_factory=list)
    visits: int = 0
    value: float = 0.0

    def uct(self, c: float) -> float:
        assert self.parent is not None
        return self.value / self.visits + c * math.sqrt(math.log(self.parent.visits) / self.visits)


def _needs(p: MctsParams) -> dict[str, set[str]]:
    return {**SEARCH_NEEDS, **({"discriminator": {"continue"}} if p.verify == "mutual" else {})}


@strategy("mcts", MctsParams, roles=("critic", "discriminator"), needs=_needs, depth=lambda p: 2 * p.simulations,
          method="step-level MCTS (rStar 2024, without mutual verification), METHODS §2.18")
async def mcts(ctx: StrategyContext, params: MctsParams) -> None:
    """Select by UCT, expand one step, roll out to an answer, back up the reward."""
    search = StepSearch(ctx, params.search())
    root, rollouts, answers = Node(Partial()), [], []  # type: ignore[var-annotated]
    for s in range(params.simulations):
        node = root
        while len(node.children) >= params.expand and not node.partial.done:
            node = max(node.children, key=lambda n: n.uct(params.c))
        if not node.partial.done and node.depth < params.max_depth:
            (child,) = await search.expand(node.partial, purpose=f"s{s}-expand", n=1)
            node.children.append(Node(child, node, node.depth + 1))
            node = node.children[-1]
        leaf = node.partial if node.partial.done else await search.complete(node.partial, purpose=f"s{s}-rollout")
        rollouts.append(leaf)
        answers.append(ctx.extract(leaf.text).text)
        reward = _agreement(ctx, answers) if params.reward == "agreement" else (leaf.score or 0.0)
        while node is not None:
            node.visits, node.value, node = node.visits + 1, node.value + reward, node.parent
    if params.reward == "agreement":  # the vote weighs each rollout by its answer's final share
        for leaf, a in zip(rollouts, answers):
            leaf.score = _agreement(ctx, answers, a)
    ctx.emit(StopEvent(reason="simulations", rounds=params.simulations))
    ctx.emit(NoteEvent(label="mcts", message=f"{len(root.children)} first steps tried",
                       data={"visits": [n.visits for n in root.children],
                             "values": [round(n.value / n.visits, 4) for n in root.children]}))
    if params.verify == "mutual":
        confirmed = await asyncio.gather(*(_confirm(ctx, params, i, leaf, a)
                                           for i, (leaf, a) in enumerate(zip(rollouts, answers))))
        ctx.note(f"{sum(confirmed)} of {len(rollouts)} rollouts confirmed", label="mutual", confirmed=confirmed)
        rollouts = [leaf for leaf, ok in zip(rollouts, confirmed) if ok] or rollouts
    search.choose(rollouts)


async def _confirm(ctx: StrategyContext, params: MctsParams, i: int, leaf: Partial, answer: str | None) -> bool:
    """rStar's mutual consistency: the discriminator completes the rollout's masked tail."""
    if answer is None:
        return False
    steps = ctx.steps(leaf.text)
    keep = min(int(len(steps) * (1 - params.mask)), len(steps) - 1)
    prefix = leaf.text[: steps[keep].start] if steps and keep > 0 else ""
    judge = ctx.model("discriminator")
    if prefix:
        c = await judge.continue_(ctx.question(), prefix, purpose=f"verify-{i}", temperature=0.0)
    else:
        c = await judge.generate(ctx.question(), purpose=f"verify-{i}", temperature=0.0)
    return ctx.same_answer(ctx.extract(prefix + c.text).text, answer)


def _agreement(ctx: StrategyContext, answers: list[str | None], answer: str | None = None) -> float:
    """Share of ``answers`` equal to ``answer`` (default: the last one); no answer: 0."""
    answer = answers[-1] if answer is None and answers else answer
    if answer is None:
        return 0.0
    return sum(ctx.same_answer(a, answer) for a in answers) / len(answers)
