"""``pal``: program-aided solving with self-debugging (PAL 2022; CoSC 2024; METHODS §2.12).

The model writes a Python program for the problem; the program is found in its reply however
small models write it (a fence or plain code, a function named anything, printing or only
returning: :func:`~mistakelab.sandbox.extract_program`) and run in the sandbox, a separate
confined process with limits (:mod:`mistakelab.sandbox`; its text never runs in this process).
The answer is what it printed (:func:`~mistakelab.sandbox.program_answer`). On an exception, a
timeout, no output, or a reply without a program, the model is shown what went wrong and asked
for a corrected program, up to ``rounds`` times.

``k`` programs (sampled when k > 1) and ``cot`` chain-of-thought samples (self-consistency's own)
may vote: the majority of the answers that exist, programs first in order (ties: first seen).
Every program round's answer is recorded as an ATTEMPT, so the table shows what debugging
changed. A sandbox that cannot run at all fails the unit (never a wrong answer).
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict, Field

from mistakelab.context import Conversation
from mistakelab.core.events import ProgramEvent, StopEvent, VoteEvent
from mistakelab.core.trace import AnswerKind
from mistakelab.sandbox import Limits, RunStatus, extract_program, program_answer, run_program_async
from mistakelab.strategies.base import strategy
from mistakelab.strategies.context import StrategyContext
from mistakelab.strategies.kit.voting import majority, tally

PROMPTS = {
    "program": "{question}\n\nWrite a Python program that computes the answer to this problem and prints "
               "it as a number. Reply with the program in one ```python code block.",
    "fix": "Running your program gave:\n\n{error}\n\nFix the program. Reply with the whole corrected program "
           "in one ```python code block; it must print the answer.",
    "no_program": "I could not find a Python program in your reply. Reply with the whole program in one "
                  "```python code block that prints the answer.",
}


class PalParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(default=1, ge=1)  # programs
    rounds: int = Field(default=2, ge=0)  # corrections per program
    temperature: float | None = None  # None: greedy for k=1, 0.7 for k > 1
    cot: int = Field(default=0, ge=0)  # chain-of-thought samples that join the vote
    cpu_seconds: int = Field(default=5, ge=1)
    wall_seconds: float = Field(default=10.0, gt=0)


@strategy("pal", PalParams, prompts=PROMPTS, depth=lambda p: 1 + p.rounds,
          method="PAL with self-debugging (PAL 2022; CoSC 2024), METHODS §2.12")
async def pal(ctx: StrategyContext, params: PalParams) -> None:
    """Write a program, run it sandboxed, feed errors back up to R rounds; vote over k programs."""
    temperature = params.temperature if params.temperature is not None else (0.7 if params.k > 1 else None)
    over = {} if temperature is None else {"temperature": temperature}
    limits = Limits(cpu_seconds=params.cpu_seconds, wall_seconds=params.wall_seconds)

    async def program(j: int) -> tuple[str | None, int]:
        conv, answer = Conversation().user(ctx.prompt("program")), None
        for r in range(params.rounds + 1):
            reply = await ctx.generate(conv, purpose=f"program-{j}-{r}", **over)
            call = next(c.index for c in reversed(ctx.trace.calls) if c.completion is reply)
            found = extract_program(reply.text)
            if found is None:
                ctx.emit(ProgramEvent(index=j, round=r, status="no_program"))
                feedback = ctx.prompt("no_program")
            else:
                run = await run_program_async(found.source, limits)
                if run.status is RunStatus.sandbox_unavailable:
                    raise RuntimeError(f"the sandbox cannot run programs here: {run.detail}")
                answer = program_answer(run)
                ctx.emit(ProgramEvent(index=j, round=r, status=run.status.value, found=found.found, answer=answer,
                                      error=run.error_line or run.detail, isolation=run.isolation))
                feedback = ctx.prompt("fix", error=run.feedback() or f"no answer was printed (output: "
                                      f"{run.stdout.strip()[-200:] or 'nothing'})")
            ctx.record_extracted(answer, label=f"program-{j}-{r}", call=call, method="program")
            if answer is not None:
                break
            conv = conv.assistant(reply.text).user(feedback)
        return answer, r

    ran = await asyncio.gather(*(program(j) for j in range(params.k)))
    answers = [a for a, _ in ran]
    ctx.emit(StopEvent(reason=f"{sum(a is not None for a in answers)} of {params.k} program(s) answered",
                       rounds=max(r for _, r in ran)))
    if params.cot:
        outs = await ctx.sample(ctx.question(), params.cot, purpose="sample", temperature=0.7,
                                seed_scope="self_consistency")
        answers += [ctx.record_answer(c, AnswerKind.SAMPLE, label="cot") for c in outs]
    if len(answers) == 1:
        ctx.final(answers[0], method="program")
        return
    votes = tally(answers, key=ctx.answer_key)
    winner = majority(answers, key=ctx.answer_key)
    ctx.emit(VoteEvent(winner=winner, votes=max((v for _, v in votes.values()), default=0), k=len(answers),
                       tally={first: v for first, v in votes.values()}))
    ctx.final(winner, method="majority")
