"""iGSM task: generator, gold steps, step verifier, error injection."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mistakelab.core.types import Problem
from mistakelab.tasks import create_task
from mistakelab.tasks.igsm import IGSMTask, Spec
from mistakelab.tasks.igsm.model import Category, Item, Quantity, propagate


def _eval(expr: str, env: dict[str, int]) -> int:
    """Evaluate a gold expression (variables, ints, + - *) without using the package's code."""
    def go(node: ast.AST) -> int:
        if isinstance(node, ast.BinOp):
            a, b = go(node.left), go(node.right)
            return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}[type(node.op)]
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        raise AssertionError(f"unexpected node in {expr!r}")
    return go(ast.parse(expr, mode="eval").body)


def _statuses(task: IGSMTask, p: Problem, text: str) -> list[str]:
    return [m.status for m in task.verify_steps(p, text).marks]


# -- generator ---------------------------------------------------------------------------------

def test_ids_and_problems_depend_only_on_seed_and_index() -> None:
    task = IGSMTask()
    a = task.load(5, seed=3)
    assert [p.id for p in a] == [f"igsm-3-{i}" for i in range(5)]
    assert [p.model_dump() for p in a] == [p.model_dump() for p in IGSMTask().load(5, seed=3)]
    assert [p.model_dump() for p in a[:3]] == [p.model_dump() for p in task.load(3, seed=3)]
    assert task.problem(3, 4) == a[4]
    assert [p.question for p in task.load(5, seed=4)] != [p.question for p in a]
    assert len({p.question for p in a}) == 5


def test_deterministic_across_processes() -> None:
    code = ("import json; from mistakelab.tasks.igsm import IGSMTask; "
            "print(json.dumps([p.model_dump(mode='json') for p in IGSMTask(modulo=23).load(4, 9)]))")
    here = [p.model_dump(mode="json") for p in IGSMTask(modulo=23).load(4, 9)]
    for hashseed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert json.loads(out.stdout) == here


@pytest.mark.parametrize("lo,hi", [(1, 3), (5, 9), (12, 20)])
def test_op_count_in_range_and_matches_the_gold_expressions(lo: int, hi: int) -> None:
    for p in IGSMTask(min_ops=lo, max_ops=hi).load(12, seed=lo):
        counted = sum(len(re.findall(r"[-+*]", s.expression or "")) for s in p.steps)
        assert counted == p.metadata["ops"]
        assert lo <= counted <= hi


def test_gold_steps_are_topological_and_their_values_recompute() -> None:
    for p in IGSMTask(ops=(4, 15), layers=(2, 4)).load(15, seed=2):
        spec = IGSMTask.spec(p)
        env: dict[str, int] = {}
        defined: set[str] = set()
        for s in p.steps:
            assert set(s.depends_on) <= defined, "a step uses a quantity before defining it"
            env[spec.variables[s.quantity]] = _eval(s.expression, env)
            assert env[spec.variables[s.quantity]] == s.value
            assert s.text.startswith(f"Define the {s.quantity} as ")
            defined.add(s.quantity)
        assert p.steps[-1].quantity == spec.question
        assert p.answer == str(p.steps[-1].value)


def test_plain_values_are_positive_and_bounded() -> None:
    task = IGSMTask(ops=(2, 20), max_value=500)
    for p in task.load(30, seed=8):
        spec = IGSMTask.spec(p)
        stated = {q.key: q.value for q in spec.quantities if q.key in spec.stated}
        assert all(1 <= v <= 500 for v in stated.values())
        assert all(1 <= s.value <= 500 for s in p.steps)
        assert not re.search(r"(?<![\w])-\d", p.question)


def test_distractors_are_stated_but_not_in_the_gold_steps() -> None:
    for p in IGSMTask(distractors=3).load(10, seed=5):
        spec = IGSMTask.spec(p)
        gold = {s.quantity for s in p.steps}
        assert p.metadata["distractors"] == len(spec.distractors) == 3
        qs = spec.by_key()
        plural = {it.name: it.plural for it in spec.items}
        for key in spec.distractors:
            assert key not in gold
            assert qs[key].container in p.question and plural[qs[key].content] in p.question
        needed_statements = [k for k in spec.stated if k in gold]
        assert len(spec.stated) == len(needed_statements) + 3


def test_several_worlds_and_depths_appear() -> None:
    ps = IGSMTask().load(40, seed=0)
    assert len({p.metadata["world"] for p in ps}) >= 4
    assert {p.metadata["layers"] for p in ps} == {2, 3, 4}
    assert len({p.question.split()[0] for p in ps}) >= 3  # sentence shapes vary


def test_prompt_asks_for_one_quantity_per_step_and_a_box() -> None:
    p = IGSMTask().load(1, 0)[0]
    content = IGSMTask().prompt(p)[-1].content
    assert content.startswith(p.question)
    assert "defining one quantity per step" in content and "\\boxed{}" in content


def test_registry_and_options_validation() -> None:
    task = create_task("igsm", {"ops": [3, 5], "distractors": 1, "layers": 3})
    p = task.load(1, 0)[0]
    assert 3 <= p.metadata["ops"] <= 5 and p.metadata["layers"] == 3
    for bad in ({"min_ops": 5, "max_ops": 2}, {"layers": 5}, {"modulo": 2}, {"distractors": (3, 1)}):
        with pytest.raises(ValueError):
            IGSMTask(**bad)


# -- checkers on generated problems ------------------------------------------------------------

@pytest.mark.parametrize("options", [{}, {"modulo": 23}, {"ops": (10, 20), "layers": 4}, {"layers": 2}])
def test_gold_solution_passes_verifier_and_answer_check(options: dict) -> None:
    task = IGSMTask(**options)
    for p in task.load(10, seed=1):
        gold = task.gold_solution(p)
        assert gold.endswith(f"The answer is \\boxed{{{p.answer}}}.")
        assert task.verify(p, gold).correct
        v = task.verify_steps(p, gold)
        assert v.first_error == -1 and v.final_correct is True
        assert [m.status for m in v.marks] == ["ok"] * len(p.steps) + ["unchecked"]


def test_answer_check_is_exact() -> None:
    task = IGSMTask()
    p = task.load(1, 0)[0]
    n = int(p.answer)
    assert task.check(p, str(n)).correct and task.check(p, f"{n} animals").correct
    assert task.check(p, f"${n}$").correct
    assert not task.check(p, str(n + 1)).correct
    assert not task.check(p, f"{n}.5").correct
    assert not task.check(p, None).correct
    assert task.verify(p, f"so it is \\boxed{{{n}}}").correct


def test_survives_a_json_round_trip() -> None:
    task = IGSMTask()
    p = Problem.model_validate_json(task.load(1, 6)[0].model_dump_json())
    assert task.verify_steps(p, task.gold_solution(p)).first_error == -1


def test_modulo_mode() -> None:
    task = IGSMTask(modulo=23, ops=(4, 12))
    for p in task.load(8, seed=4):
        assert "modulo 23" in p.question
        assert all(0 <= s.value < 23 for s in p.steps)
        gold = task.gold_solution(p)
        lines = gold.splitlines()
        # A congruent step value is still right; the final answer must be exact.
        last = lines[-2]
        congruent = re.sub(r"= (\d+)\.$", lambda m: f"= {int(m.group(1)) + 23} (mod 23).", last)
        assert congruent != last
        assert _statuses(task, p, "\n".join(lines[:-2] + [congruent]))[-1] == "ok"
        assert not task.check(p, str(int(p.answer) + 23)).correct
        assert task.check(p, f"{p.answer} (mod 23)").correct
        bad = task.inject_error(p, 0)
        assert task.verify_steps(p, bad.text).first_error == 0
        assert not task.verify(p, bad.text).correct


def _paraphrase(spec: Spec) -> str:
    """A model-like solution: no variables, lower-case names, varied sentence shapes."""
    qs = spec.by_key()
    vals = propagate(spec, {})
    cat = {c.name: c.plural for c in spec.categories}
    plural = {it.name: it.plural for it in spec.items}
    lines = ["Let's solve this carefully."]
    for i, key in enumerate(spec.necessary):
        q = qs[key]
        nums = [str(vals[d]) for d in q.deps]
        if q.op in ("agg_prod",):
            calc = " + ".join(f"{nums[j]} * {nums[j + 1]}" for j in range(0, len(nums), 2))
        elif q.op == "const":
            calc = ""
        else:
            calc = {"more": f"{nums[0] if nums else ''} + {q.const}", "fewer": f"{nums[0] if nums else ''} - {q.const}",
                    "times": f"{q.const} * {nums[0] if nums else ''}", "diff": " - ".join(nums),
                    "prod": " * ".join(nums)}.get(q.op, " + ".join(nums))
        eq = f"{calc} = {vals[key]}" if calc else str(vals[key])
        if q.kind == "abstract":
            shape = [f"So each {q.container} has {eq} {cat[q.content].lower()} in total.",
                     f"Total {cat[q.content].lower()} in one {q.container}: {eq}."][i % 2]
        else:
            shape = [f"Each {q.container.lower()} has {eq} {plural[q.content].lower()}.",
                     f"{plural[q.content]} per {q.container}: {eq}.",
                     f"The number of {plural[q.content]} in a {q.container} is {eq}."][i % 3]
        lines.append(f"{i + 1}. {shape}")
    lines.append(f"Therefore the answer is \\boxed{{{vals[spec.question]}}}.")
    return "\n".join(lines)


def test_model_like_phrasing_aligns_to_every_step() -> None:
    task = IGSMTask(ops=(3, 12))
    for p in task.load(25, seed=13):
        text = _paraphrase(IGSMTask.spec(p))
        v = task.verify_steps(p, text)
        assert v.first_error == -1, (text, v.marks)
        assert [m.status for m in v.marks] == ["unchecked"] + ["ok"] * len(p.steps) + ["unchecked"], text


# -- a hand-built problem and hand-written solutions -------------------------------------------

def _zoo_problem() -> tuple[IGSMTask, Problem]:
    """Riverside Zoo: 3 Savanna Enclosures (5 Zebras, 5 + 3 = 8 Lions) and 2 Reptile Houses
    (2 * 2 = 4 Tortoises); Hilltop Zoo (a distractor) has 8 + 1 = 9 Savanna Enclosures.
    Animals in Riverside Zoo = 3 * 13 + 2 * 4 = 47."""
    def inst(a: str, b: str, layer: int, op: str = "const", const: int | None = None,
             deps: tuple[str, ...] = (), value: int = 0) -> Quantity:
        return Quantity(key=f"number of {b}s in each {a}", kind="instance", container=a, content=b,
                        layer=layer, op=op, const=const, deps=list(deps), value=value)
    zebra = inst("Savanna Enclosure", "Zebra", 2, const=5, value=5)
    lion = inst("Savanna Enclosure", "Lion", 2, "more", 3, (zebra.key,), 8)
    rz_se = inst("Riverside Zoo", "Savanna Enclosure", 1, const=3, value=3)
    rz_rh = inst("Riverside Zoo", "Reptile House", 1, const=2, value=2)
    tort = inst("Reptile House", "Tortoise", 2, "times", 2, (rz_rh.key,), 4)
    hz_se = inst("Hilltop Zoo", "Savanna Enclosure", 1, "more", 1, (lion.key,), 9)

    def total(a: str, cat: str, layer: int, op: str, deps: list[str], value: int) -> Quantity:
        return Quantity(key=f"total number of {cat}s in each {a}", kind="abstract", container=a, content=cat,
                        layer=layer, op=op, deps=deps, value=value)
    a_se = total("Savanna Enclosure", "Animal", 2, "agg_sum", [lion.key, zebra.key], 13)
    a_rh = total("Reptile House", "Animal", 2, "agg_sum", [tort.key], 4)
    a_rz = total("Riverside Zoo", "Animal", 2, "agg_prod", [rz_se.key, a_se.key, rz_rh.key, a_rh.key], 47)
    e_rz = total("Riverside Zoo", "Enclosure", 1, "agg_sum", [rz_se.key, rz_rh.key], 5)
    a_hz = total("Hilltop Zoo", "Animal", 2, "agg_prod", [hz_se.key, a_se.key], 117)
    e_hz = total("Hilltop Zoo", "Enclosure", 1, "agg_sum", [hz_se.key], 9)
    names = ["Riverside Zoo", "Hilltop Zoo", "Savanna Enclosure", "Reptile House", "Lion", "Zebra", "Tortoise"]
    layers = [0, 0, 1, 1, 2, 2, 2]
    necessary = [zebra.key, lion.key, a_se.key, rz_se.key, rz_rh.key, tort.key, a_rh.key, a_rz.key]
    spec = Spec(world="zoo", categories=[Category(name=c, plural=c + "s") for c in ("Zoo", "Enclosure", "Animal")],
                items=[Item(name=n, plural=n + "s", layer=k) for n, k in zip(names, layers, strict=True)],
                quantities=[zebra, lion, rz_se, rz_rh, tort, hz_se, a_se, a_rh, a_rz, e_rz, a_hz, e_hz],
                stated=[rz_se.key, lion.key, hz_se.key, zebra.key, rz_rh.key, tort.key], question=a_rz.key,
                necessary=necessary, variables=dict(zip(necessary, "bcdefghk", strict=True)))
    assert propagate(spec, {})[a_rz.key] == 47
    return IGSMTask(), Problem(id="zoo", question="(hand-built)", answer="47",
                               metadata={"igsm": spec.model_dump(mode="json")})


MODEL_SOLUTION = """First, each Savanna Enclosure has 5 zebras.
Each Savanna Enclosure has 5 + 3 = 8 lions, since it has 3 more lions than zebras.
So a Savanna Enclosure holds 8 + 5 = 13 animals in total.
Riverside Zoo has 3 Savanna Enclosures and 2 Reptile Houses.
Each Reptile House has twice as many tortoises as Riverside Zoo has Reptile Houses: 2 * 2 = 4 tortoises.
That makes 4 animals in each Reptile House.
Riverside Zoo's animals: 3 * 13 + 2 * 4 = 39 + 8 = 47.
The answer is \\boxed{47}."""


def test_hand_written_model_solution_is_all_ok() -> None:
    task, p = _zoo_problem()
    v = task.verify_steps(p, MODEL_SOLUTION)
    assert [m.status for m in v.marks] == ["ok"] * 7 + ["unchecked"], v.marks
    assert v.first_error == -1 and v.final_correct


def test_hand_written_wrong_value_is_caught_at_its_step() -> None:
    task, p = _zoo_problem()
    text = (MODEL_SOLUTION.replace("5 + 3 = 8 lions", "5 + 3 = 9 lions")
            .replace("8 + 5 = 13", "9 + 5 = 14").replace("3 * 13 + 2 * 4 = 39 + 8 = 47", "3 * 14 + 2 * 4 = 42 + 8 = 50")
            .replace("{47}", "{50}"))
    v = task.verify_steps(p, text)
    assert v.first_error == 1 and v.marks[1].kind == "wrong_value"
    assert [m.status for m in v.marks][2:7] == ["wrong", "ok", "ok", "ok", "wrong"]
    assert "carried over" in v.marks[2].reason and "carried over" in v.marks[6].reason
    assert v.final_correct is False


def test_hand_written_wrong_dependency_is_caught() -> None:
    task, p = _zoo_problem()
    # Tortoises depend on the Reptile Houses per zoo (2), not the Savanna Enclosures (3).
    text = MODEL_SOLUTION.replace(
        "twice as many tortoises as Riverside Zoo has Reptile Houses: 2 * 2 = 4 tortoises",
        "twice as many tortoises as Riverside Zoo has Savanna Enclosures: 2 * 3 = 6 tortoises")
    v = task.verify_steps(p, text)
    assert v.first_error == 4 and v.marks[4].kind == "wrong_dependency"
    assert "Savanna Enclosures in each Riverside Zoo" in v.marks[4].reason


def test_variables_with_a_wrong_or_missing_dependency() -> None:
    task, p = _zoo_problem()
    gold = task.gold_solution(p).splitlines()
    assert gold[1] == "Define the number of Lions in each Savanna Enclosure as c; so c = b + 3 = 5 + 3 = 8."
    extra = gold[:5] + ["Define the number of Tortoises in each Reptile House as g; so g = 2 * e = 2 * 3 = 6."]
    v = task.verify_steps(p, "\n".join(extra))
    assert v.first_error == 5 and v.marks[5].kind == "wrong_dependency"
    missing = gold[:7] + ["Define the total number of Animals in each Riverside Zoo as k; "
                          "so k = e * d + f = 3 * 13 + 2 = 41."]
    v = task.verify_steps(p, "\n".join(missing))
    assert v.first_error == 7 and "leaves out" in v.marks[7].reason


def test_distractor_step_is_unnecessary_not_wrong() -> None:
    task, p = _zoo_problem()
    lines = MODEL_SOLUTION.splitlines()
    text = "\n".join(lines[:2] + ["Hilltop Zoo has 8 + 1 = 9 Savanna Enclosures."] + lines[2:])
    v = task.verify_steps(p, text)
    assert v.marks[2].status == "unnecessary" and v.first_error == -1


def test_unalignable_steps_are_unchecked() -> None:
    task, p = _zoo_problem()
    text = ("Let me think.\n3 * 13 = 39.\nThe lions are 3 more than the zebras.\n"
            "Each Savanna Enclosure has 3 more lions than zebras.")  # a relation, not a value
    assert _statuses(task, p, text) == ["unchecked"] * 4


def test_a_second_count_stated_in_a_step_is_checked_too() -> None:
    task, p = _zoo_problem()
    assert _statuses(task, p, "Riverside Zoo has 3 Savanna Enclosures and 2 Reptile Houses.") == ["ok"]
    v = task.verify_steps(p, "Riverside Zoo has 3 Savanna Enclosures and 5 Reptile Houses.")
    assert v.first_error == 0 and "states 5 for the number of Reptile Houses" in v.marks[0].reason


# -- error injection ---------------------------------------------------------------------------

def test_injection_is_deterministic_and_changes_one_step() -> None:
    task = IGSMTask(ops=(5, 10))
    p = task.load(1, 3)[0]
    gold = task.gold_solution(p).splitlines()
    a, b = task.inject_error(p, 2, seed=1), task.inject_error(p, 2, seed=1)
    assert a == b
    lines = a.text.splitlines()
    assert lines[:2] == gold[:2] and lines[2] != gold[2]
    assert a.steps == lines and a.first_error == 2 and a.kind == "wrong_value"
    # Later steps carry the wrong value: everything downstream is wrong only by propagation.
    downstream = {p.steps[2].quantity}
    v = task.verify_steps(p, a.text)
    for k in range(3, len(p.steps)):
        if downstream & set(p.steps[k].depends_on):
            downstream.add(p.steps[k].quantity)
            assert v.marks[k].status == "wrong" and "carried over" in v.marks[k].reason
        else:
            assert v.marks[k].status == "ok"
    assert p.steps[-1].quantity in downstream
    boxed = re.search(r"\\boxed\{(\d+)\}", a.text).group(1)
    assert lines[-2].endswith(f"= {boxed}.") and boxed != p.answer
    with pytest.raises(IndexError):
        task.inject_error(p, len(p.steps))
    with pytest.raises(ValueError):
        task.inject_error(p, 0, kind="typo")


def test_wrong_dependency_injection_is_found() -> None:
    task = IGSMTask(ops=(6, 12))
    found = 0
    for p in task.load(6, seed=2):
        for k, s in enumerate(p.steps):
            if not s.depends_on or k == 0:
                continue
            try:
                bad = task.inject_error(p, k, kind="wrong_dependency")
            except ValueError:
                continue  # every earlier quantity is already a dependency
            v = task.verify_steps(p, bad.text)
            assert v.first_error == k and v.marks[k].kind == "wrong_dependency"
            found += 1
    assert found >= 5


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), lo=st.integers(1, 12), width=st.integers(0, 8),
       distractors=st.integers(0, 5), modulo=st.sampled_from([None, 23]), layers=st.integers(2, 4),
       data=st.data())
def test_injected_error_is_found_at_exactly_its_step(seed, lo, width, distractors, modulo, layers, data) -> None:
    task = IGSMTask(min_ops=lo, max_ops=lo + width, distractors=distractors, modulo=modulo, layers=layers)
    p = task.problem(seed, data.draw(st.integers(0, 50)))
    assert task.verify_steps(p, task.gold_solution(p)).first_error == -1
    step = data.draw(st.integers(0, len(p.steps) - 1))
    bad = task.inject_error(p, step, seed=data.draw(st.integers(0, 3)))
    v = task.verify_steps(p, bad.text)
    assert v.first_error == bad.first_error == step
    assert v.marks[step].kind == "wrong_value"
    assert not task.verify(p, bad.text).correct
