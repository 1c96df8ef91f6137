"""Each recipe on scripted traces: what goes in, what is skipped and why (counts by reason)."""

from __future__ import annotations

import pytest

from mistakelab.learn.recipes import RecipeInput, RecipeSpec, mix, recipes, run_recipe, trainer_of
from mistakelab.learn.recipes.retry import REFLECTION
from mistakelab.learn.source import RunSource
from recipe_fixtures import run


@pytest.fixture(scope="module")
def inp(tmp_path_factory) -> RecipeInput:
    tmp = tmp_path_factory.mktemp("recipes")
    store, train = run(tmp, {"name": "self_consistency", "k": 4}, "train")
    _, hinted = run(tmp, {"name": "rationalize"}, "hint")
    return RecipeInput(RunSource.open(store, train), RunSource.open(store, hinted))


def built(inp: RecipeInput, text: str):  # type: ignore[no-untyped-def]
    rows, count = run_recipe(RecipeSpec.parse_text(text), inp)
    return rows, count.built, dict(count.skipped)


def test_the_scripted_train_run_holds_what_the_recipes_expect(inp) -> None:
    got = sorted((s.problem.id[-1], s.correct, s.answer is None) for s in inp.train.solutions())
    assert got == [("0", False, False), ("0", False, False), ("0", True, False), ("0", True, False),
                   ("1", False, False), ("1", False, False), ("1", False, True), ("2", True, False)]


def test_every_recipe_makes_rows_its_trainer_reads(inp) -> None:
    for name in recipes.names():
        rows, count = run_recipe(RecipeSpec(name=name), inp)
        assert count.built == len(rows) > 0, name
        r = recipes.get(name)
        assert all(tuple(row.data) == r.columns and row.meta["recipe"] == name for row in rows)


def test_rft_keeps_one_row_per_reasoning_path(inp) -> None:
    rows, n, skipped = built(inp, "rft")
    assert n == 2 and {r.meta["problem_id"][-1] for r in rows} == {"0", "2"}
    assert skipped == {"same reasoning path as a kept solution": 1, "problem with no correct solution": 1}
    _, n, skipped = built(inp, "rft:distinct=false")
    assert n == 3 and skipped == {"problem with no correct solution": 1}
    _, n, skipped = built(inp, "rft:distinct=false,per_problem=1")
    assert n == 2 and skipped["per_problem limit reached"] == 1


def test_correction_and_prefix_fix_use_located_wrong_solutions(inp) -> None:
    rows, n, skipped = built(inp, "correction")
    assert n == 4 and skipped == {}  # two wrong solutions of problems 0 and 1 (per_problem 2)
    assert all("The first wrong step is step 2" in r.data["completion"][0]["content"] for r in rows)
    _, n, skipped = built(inp, "correction:per_problem=0")  # the answerless one has no wrong step
    assert n == 4 and skipped == {"no wrong step found": 1}
    rows, n, skipped = built(inp, "prefix_fix")
    assert n == 4 and skipped == {} and all(r.meta["first_error"] == 1 for r in rows)
    _, n, skipped = built(inp, "correction:corrected=own")  # problem 1 has no correct solution of its own
    assert n == 2 and skipped == {"no correct solution to show": 2}


def test_retry_reflects_after_the_wrong_step_then_solves_again(inp) -> None:
    rows, n, skipped = built(inp, "retry")
    assert n == 4 and skipped == {}
    text = rows[0].data["completion"][0]["content"]
    wrong, _, right = text.partition("\n" + REFLECTION + "\n")
    assert right and "\\boxed{" in right and wrong.count("\n") == 1  # through step 2 (index 1), then the reflection
    _, n, skipped = built(inp, "retry:style=back,p=1")
    assert n == 2 and skipped == {}  # [BACK] data of the two problems the model got wrong somewhere


def test_preference_pairs_right_and_wrong_of_one_problem(inp) -> None:
    rows, n, skipped = built(inp, "preference")
    assert n == 2 and {r.meta["problem_id"][-1] for r in rows} == {"0"}
    assert skipped == {"problem without both a right and a wrong solution": 2}
    assert recipes.get("preference").trainer == "dpo"


def test_rationalize_keeps_hinted_rationales_that_stand_alone(inp) -> None:
    assert all(s.used_gold for s in inp.hinted.solutions())  # the hinted run read the gold answer
    rows, n, skipped = built(inp, "rationalize")
    assert n == 1 and skipped == {"hinted solution still wrong": 1, "rationale mentions the hint": 1}
    prompt = rows[0].data["prompt"][-1]["content"]
    assert "Hint" not in prompt and rows[0].meta["oracle_built"] is True
    assert recipes.get("rationalize").oracle_built and recipes.get("rationalize").hint_strategy == {"name": "rationalize"}
    _, count = run_recipe(RecipeSpec(name="rationalize"), RecipeInput(inp.train))  # no hinted run
    assert count.built == 0 and sum(count.skipped.values()) == 1


def test_gkd_poses_every_problem_with_a_correct_solution(inp) -> None:
    rows, n, skipped = built(inp, "gkd")
    assert n == 3 and [r.meta["source"] for r in rows] == ["model", "gold", "model"]
    assert rows[0].data["messages"][-1]["role"] == "assistant"
    _, n, skipped = built(inp, "gkd:gold=false")
    assert n == 2 and skipped == {"no correct solution (own or gold)": 1}


def test_weights_scale_each_recipe_and_trainers_must_match(inp) -> None:
    rows, counts = mix([RecipeSpec.parse_text("rft:weight=2"), RecipeSpec.parse_text("correction:weight=0.5")], inp)
    assert [(c.recipe, c.built, c.kept) for c in counts] == [("rft", 2, 4), ("correction", 4, 2)]
    assert len(rows) == 6 and [r.meta["recipe"] for r in rows] == ["rft"] * 4 + ["correction"] * 2
    again, _ = mix([RecipeSpec.parse_text("rft:weight=2"), RecipeSpec.parse_text("correction:weight=0.5")], inp)
    assert [r.data for r in again] == [r.data for r in rows]  # seeded
    with pytest.raises(ValueError, match="share a trainer.*rft \\(sft\\), preference \\(dpo\\)"):
        trainer_of([RecipeSpec(name="rft"), RecipeSpec(name="preference")])
    with pytest.raises(ValueError, match="recipe 'rft': bad options: nope"):
        RecipeSpec.parse_text("rft:nope=1").resolve()
