"""Knights and Knaves: generator, gold steps, perturbations, checkers, injection, LiMem."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mistakelab.core.types import Problem
from mistakelab.tasks import create_task
from mistakelab.tasks.knights_knaves import (KnightsKnavesTask, Puzzle, generate_puzzle, inject_error,
                                             limem, memorization_score, rename_people, rename_roles,
                                             reorder_statements, resample_leaf, resample_statement)
from mistakelab.tasks.knights_knaves.logic import (depth, evaluate, from_json, get_at, leaf_paths, leaves,
                                                   replace_at, width)

TASK = KnightsKnavesTask()


def brute_force(stmts, n):
    """Independent of the truth-table code: evaluate every assignment directly."""
    out = []
    for bits in itertools.product((False, True), repeat=n):
        a = sum(1 << i for i, b in enumerate(bits) if b)
        if all(evaluate(s, a) == bits[i] for i, s in enumerate(stmts)):
            out.append(a)
    return out


def stmts_of(p: Problem):
    return [from_json(s) for s in p.metadata["statements"]]


def gold(p: Problem) -> str:
    text = TASK.gold_solution(p)
    assert text is not None
    return text


# Zoey: "Max is a knight"; Oliver: "Zoey is a knave"; Max: "Zoey or Oliver is a knight".
# Unique solution: Zoey knight, Oliver knave, Max knight.
FIXED = Puzzle(id="kk-fixed", names=("Zoey", "Oliver", "Max"), render_seed="fixed",
               statements=(("knight", 2), ("knave", 0), ("or", ("knight", 0), ("knight", 1)))).to_problem()


# -- generator ------------------------------------------------------------------------------

@pytest.mark.parametrize("n", range(2, 9))
def test_generated_puzzles_have_exactly_one_solution(n):
    for i in range(6 if n < 7 else 3):
        p = generate_puzzle(n, seed=11, index=i).to_problem()
        sols = brute_force(stmts_of(p), n)
        assert len(sols) == 1
        bits = p.metadata["solution_bits"]
        assert sols[0] == sum(1 << k for k, b in enumerate(bits) if b)
        assert p.answer == "; ".join(f"{nm}: {'knight' if b else 'knave'}" for nm, b in zip(p.metadata["names"], bits))
        assert len(set(p.metadata["names"])) == n


def test_no_self_referential_knave_leaf():
    for n in (2, 3, 5):
        for i in range(40):
            for speaker, s in enumerate(stmts_of(generate_puzzle(n, seed=3, index=i, depth=3, width=3).to_problem())):
                assert ("knave", speaker) not in leaves(s)
                # not("I am a knight") is the same paradox and is excluded too
                assert "I am a knave" not in repr(s)


@pytest.mark.parametrize("d,w", [(2, 2), (3, 2), (3, 3), (2, 4)])
def test_depth_and_width_limits(d, w):
    seen_depth, seen_width = 0, 0
    for i in range(40):
        for s in stmts_of(generate_puzzle(5, seed=5, index=i, depth=d, width=w).to_problem()):
            assert depth(s) <= d and width(s) <= w
            seen_depth, seen_width = max(seen_depth, depth(s)), max(seen_width, width(s))
    assert seen_depth == d and seen_width == w  # the limits are reached, not just respected


def test_ids_and_determinism_per_seed_and_index():
    a = TASK.load(4, seed=7)
    b = TASK.load(4, seed=7)
    assert [p.id for p in a] == ["kk-3-7-0", "kk-3-7-1", "kk-3-7-2", "kk-3-7-3"]
    assert a == b
    assert a[2] == generate_puzzle(3, seed=7, index=2).to_problem()  # index, not position in a batch
    assert len({p.question for p in a}) == 4
    assert TASK.load(1, seed=8)[0].question != a[0].question
    assert KnightsKnavesTask(depth=3).load(1, 7)[0].id == "kk-3-7-0-d3w2"


def test_determinism_across_processes():
    code = ("import json; from mistakelab.tasks.knights_knaves import KnightsKnavesTask; "
            "print(json.dumps([p.model_dump() for p in KnightsKnavesTask(n_people=5).load(3, 2)]))")
    env = {**os.environ, "PYTHONHASHSEED": "987"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    here = [p.model_dump() for p in KnightsKnavesTask(n_people=5).load(3, 2)]
    assert json.loads(out.stdout) == json.loads(json.dumps(here))


def test_problem_round_trips_through_json_and_puzzle():
    p = generate_puzzle(5, seed=1, index=4).to_problem()
    assert Problem.model_validate_json(p.model_dump_json()) == p
    assert Puzzle.from_problem(p).to_problem() == p
    json.dumps(p.metadata)  # JSON-safe metadata


def test_varied_phrasing_and_names():
    qs = [p.question for p in KnightsKnavesTask(n_people=4).load(30, seed=0)]
    text = "\n".join(qs)
    for phrase in ("says,", "claims", "In ", "'s words:", "if and only if", "It is not the case that",
                   "Either", "If ", ", then"):
        assert phrase in text, phrase
    names = {n for p in KnightsKnavesTask(n_people=4).load(30, seed=0) for n in p.metadata["names"]}
    assert len(names) > 30


def test_bad_options_fail_fast():
    with pytest.raises(ValueError):
        KnightsKnavesTask(n_people=9)
    with pytest.raises(ValueError):
        KnightsKnavesTask(perturbation="nope")
    with pytest.raises(ValueError):  # bare (negated) leaves never give a unique solution
        KnightsKnavesTask(depth=1)
    with pytest.raises(ValueError):
        KnightsKnavesTask(width=1)


# -- gold steps -----------------------------------------------------------------------------

def test_backtracking_steps_agree_with_solution():
    for n in (2, 4, 6, 8):
        for i in range(8):
            p = generate_puzzle(n, seed=21, index=i).to_problem()
            bits = p.metadata["solution_bits"]
            names = p.metadata["names"]
            level = 0  # assumption depth, replayed from the step kinds
            for step in p.steps:
                kind = step.value["kind"]
                level += {"assume": 1, "contradiction": -1}.get(kind, 0)
                assert level >= 0
                if kind == "assume":
                    assert step.text.startswith(f"Assume {names[step.value['claims'][0]['person']]} is a knight")
                for c in step.value["claims"]:
                    assert step.text[c["start"]:c["end"]] in ("a knight", "a knave", "true", "false")
                    # Outside assumptions a role claim must be the truth; in a contradiction step
                # only the closing claim is outside (the rest restates the refuted branch).
                outside = level == 0 and (kind != "contradiction" or c["primary"])
                if outside and c["type"] == "role":
                    assert c["value"] == bits[c["person"]], step.text
            assert p.steps[-1].text == "CONCLUSION: " + " ".join(
                f"({k + 1}) {nm} is a {'knight' if b else 'knave'}" for k, (nm, b) in enumerate(zip(names, bits)))
            assert all(any(c["primary"] for c in s.value["claims"]) for s in p.steps)


def test_a_contradiction_step_exists_and_refutes_the_assumption():
    found = 0
    for i in range(30):
        p = generate_puzzle(5, seed=2, index=i).to_problem()
        for k, s in enumerate(p.steps):
            if s.value["kind"] == "contradiction":
                found += 1
                assert s.text.startswith("Contradiction:") and s.text.endswith("is a knave.")
    assert found >= 3


# -- perturbations --------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [resample_statement, resample_leaf])
def test_local_perturbations_unique_and_different(fn):
    for n in (2, 3, 5):
        for i in range(6):
            p = generate_puzzle(n, seed=4, index=i).to_problem()
            try:
                q = fn(p)
            except ValueError:  # allowed only when exhaustive search agrees no leaf change works
                assert fn is resample_leaf and not any_leaf_change_works(p)
                continue
            sols = brute_force(stmts_of(q), n)
            assert len(sols) == 1 and q.answer != p.answer
            assert q.metadata["perturbation"] in ("statement", "leaf") and q.metadata["source_id"] == p.id
            changed = [k for k, (a, b) in enumerate(zip(stmts_of(p), stmts_of(q))) if a != b]
            assert len(changed) == 1
            if fn is resample_leaf:
                la, lb = leaves(stmts_of(p)[changed[0]]), leaves(stmts_of(q)[changed[0]])
                assert len(la) == len(lb) and sum(x != y for x, y in zip(la, lb)) == 1
            assert fn(p) == q  # deterministic
            assert TASK.verify(q, gold(q)).correct and TASK.verify_steps(q, gold(q)).first_error == -1


def any_leaf_change_works(p):
    stmts, n = stmts_of(p), len(p.metadata["names"])
    old = brute_force(stmts, n)
    for who, s in enumerate(stmts):
        for path in leaf_paths(s):
            for leaf in [(op, k) for k in range(n) for op in ("knight", "knave")]:
                if leaf == ("knave", who):
                    continue
                new = list(stmts)
                new[who] = replace_at(s, path, leaf)
                parent = get_at(new[who], path[:-1])
                kids = [x for x in parent[1:]]
                if parent[0] != "not" and len(set(kids)) < len(kids):
                    continue
                sols = brute_force(new, n)
                if len(sols) == 1 and sols != old and "('not', ('knight', %d))" % who not in repr(new[who]):
                    return True
    return False


def test_local_perturbation_raises_when_bound_is_hit():
    p = generate_puzzle(3, seed=0, index=0).to_problem()
    with pytest.raises(ValueError):
        resample_leaf(p, max_tries=0)
    with pytest.raises(ValueError):
        resample_statement(p, max_tries=0)


def test_rename_people_keeps_logic_and_checker():
    p = FIXED
    q = rename_people(p, names=["Aisha", "Kenji", "Priya"])
    assert q.answer == "Aisha: knight; Kenji: knave; Priya: knight"
    assert q.question.replace("Aisha", "Zoey").replace("Kenji", "Oliver").replace("Priya", "Max") == p.question
    assert TASK.verify(q, "Aisha is a knight, Kenji is a knave and Priya is a knight.").correct
    assert not TASK.verify(q, "Zoey is a knight, Oliver is a knave and Max is a knight.").correct
    assert "Aisha is missing" in TASK.verify(q, "Kenji is a knave and Priya is a knight.").reason
    r = rename_people(generate_puzzle(4, seed=1, index=1).to_problem())
    assert not set(r.metadata["names"]) & set(generate_puzzle(4, seed=1, index=1).names)


def test_rename_roles_rendering_and_checker_follow():
    q = rename_roles(FIXED, "angel/devil")
    assert "angels and devils" in q.question and "Max is an angel" in q.question
    assert q.answer == "Zoey: angel; Oliver: devil; Max: angel" and q.metadata["roles"] == ["angel", "devil"]
    assert TASK.verify(q, gold(q)).correct and TASK.verify_steps(q, gold(q)).first_error == -1
    assert TASK.verify(q, "Zoey is an angel, Oliver is a devil, Max is an angel.").correct
    assert not TASK.verify(q, "Zoey is an angel, Oliver is an angel, Max is an angel.").correct
    # A custom pair through the task option: extraction without the problem knows the words too.
    t = KnightsKnavesTask(roles="wizard/witch")
    p = t.load(1, seed=0)[0]
    assert p.id.endswith("~wizard-witch") and "wizards" in p.question
    assert t.check(p, t.extract(gold(p)).text).correct
    inj = t.inject_error(p, 0)
    assert t.verify_steps(p, inj.text).first_error == inj.first_error


def test_reorder_statements_keeps_answer():
    p = generate_puzzle(5, seed=0, index=3).to_problem()
    q = reorder_statements(p)
    assert q.answer == p.answer and q.question != p.question
    assert sorted(q.question.splitlines()) == sorted(p.question.splitlines())
    assert reorder_statements(p, order=[4, 3, 2, 1, 0]).metadata["order"] == [4, 3, 2, 1, 0]


def test_perturbation_option_on_task():
    t = create_task("knights_knaves", {"n_people": 3, "perturbation": "leaf"})
    ps = t.load(3, seed=0)
    base = KnightsKnavesTask().load(3, seed=0)
    assert [p.id for p in ps] == [f"{b.id}~leaf" for b in base]
    assert all(p.answer != b.answer for p, b in zip(ps, base))


# -- answer checker -------------------------------------------------------------------------

OK = "all 3 roles match"
CHECKER_TABLE = [
    ("CONCLUSION: (1) Zoey is a knight (2) Oliver is a knave (3) Max is a knight", True, OK),
    ("So Zoey is a knight and Oliver is a knave, and Max is a knight.", True, OK),
    ("Zoey: knight, Oliver: knave, Max: knight", True, OK),
    ("| Person | Role |\n|---|---|\n| Zoey | Knight |\n| Oliver | Knave |\n| Max | Knight |", True, OK),
    ("**Zoey** is a knight.\n**Oliver** is a knave.\n**Max** is a knight.", True, OK),
    ("- Zoey - knight\n- Oliver - knave\n- Max - knight", True, OK),
    ("Suppose Zoey is a knave. Then Max is a knave, and Oliver is a knight... that fails.\n\n"
     "### Final Answer\nZoey is a knight, Oliver is a knave, Max is a knight.", True, OK),
    ("Therefore, Zoey and Max are knights, while Oliver is a knave.", True, OK),
    ("Knights: Zoey, Max\nKnaves: Oliver", True, OK),
    ("Zoey tells the truth, Oliver is lying, and Max is telling the truth.", True, OK),
    ("The answer is \\boxed{Zoey: knight, Oliver: knave, Max: knight}", True, OK),
    ("Zoey is not a knave, Oliver is not a knight, and Max is a knight.", True, OK),
    ("Zoey is a knave, Oliver is a knight, Max is a knave.\n\nWait, let me recheck Oliver's claim.\n\n"
     "Zoey is a knight, Oliver is a knave, Max is a knight.", True, OK),
    ('Oliver says "Zoey is a knave", which is false.\nFinal: Zoey (knight), Oliver (knave), Max (knight)', True, OK),
    ("CONCLUSION: (1) Zoey is a knight (2) Oliver is a knight (3) Max is a knight", False, "Oliver is knave, not knight"),
    ("Zoey is a knave, Oliver is a knight and Max is a knave.", False, "Zoey is knight, not knave"),
    ("Zoey is a knight and Oliver is a knave.", False, "Max is missing"),
    ("Zoey is a knight, Oliver is a knave, and Max could be a knight or a knave.", False, "Max is hedged"),
    ("Zoey is a knight and Oliver is a knave, but Max's role cannot be determined.", False, "Max is hedged"),
    ("Zoey is either a knight or a knave; Oliver is a knave; Max is a knight.", False, "Zoey is hedged"),
    ("Either Zoey is a knight or Oliver is a knave. Max is a knight.", False, "hedged"),
    ("After checking every case, the roles cannot be determined.", False, "cannot be determined"),
    ("Final answer: Zoey is a knight, Oliver is a knave, Max is a knight, and Zoey is a knave.", False, "both roles"),
    ("If Zoey is a knight, then Oliver is a knave and Max is a knight.", False, "no "),
    ("Oliver says that Zoey is a knave.", False, "no "),
    ("", False, "no "),
]


@pytest.mark.parametrize("text,correct,reason", CHECKER_TABLE)
def test_answer_checker_table(text, correct, reason):
    direct = TASK.verify(FIXED, text)  # knows the names
    ex = TASK.extract(text)  # does not
    via_extract = TASK.check(FIXED, ex.text, ex.method)
    for v in (direct, via_extract):
        assert v.correct is correct, (v, text)
        assert reason in v.reason, (v.reason, text)


def test_answer_key_groups_equivalent_answers():
    a = TASK.answer_key(TASK.extract("Zoey: knight, Oliver: knave").text)
    b = TASK.answer_key(TASK.extract("Oliver is lying and Zoey is a truth-teller.").text)
    c = TASK.answer_key(TASK.extract("Zoey is a knave and Oliver is a knave.").text)
    assert a == b == "Oliver=knave;Zoey=knight" and c != a
    assert TASK.check(FIXED, FIXED.answer).correct  # the gold answer string itself


# -- step verifier --------------------------------------------------------------------------

def test_gold_passes_and_false_claim_found_at_its_step():
    assert TASK.verify_steps(FIXED, gold(FIXED)).first_error == -1
    text = ("Oliver says Zoey is a knave.\n"
            "Max's claim is that Zoey or Oliver is a knight.\n"
            "Zoey is a knight, because otherwise Max would be a knave and Oliver a knight, a contradiction.\n"
            "So Oliver is a knight.\n"
            "Final answer: Zoey is a knight, Oliver is a knight, Max is a knight.")
    v = TASK.verify_steps(FIXED, text)
    assert v.first_error == 3 and v.marks[3].kind == "false_claim" and "Oliver" in v.marks[3].reason
    assert v.final_correct is False
    assert [m.status for m in v.marks[:3]] == ["ok", "ok", "ok"]  # reported speech is no claim


def test_hypothetical_claims_are_judged_against_the_assumption():
    text = ("Assume Oliver is a knight. Then Oliver's statement is true, so Zoey is a knave.\n"
            "Since Zoey is a knave, Zoey's statement is false, so Max is a knave.\n"
            "Then Max's statement is false, so Oliver is a knave. Contradiction, so Oliver is a knave.\n"
            "If Max were a knave, then Zoey would be a knave.\n"
            "Case 1: Zoey is a knave. Then Max is a knave, and Max's statement must be false.\n"
            "Case 2: Zoey is a knight. Then Max is a knight, and Max's statement is true.\n"
            "CONCLUSION: (1) Zoey is a knight (2) Oliver is a knave (3) Max is a knight")
    v = TASK.verify_steps(FIXED, text)
    assert v.first_error == -1, v.marks
    # the same hypothetical derivation with a wrong step inside the assumption
    bad = text.replace("so Max is a knave.\n", "so Max is a knight.\n")
    v = TASK.verify_steps(FIXED, bad)
    assert v.first_error == 1 and v.marks[1].kind == "unsupported_claim"
    # a claim outside any assumption is judged against the solution
    v = TASK.verify_steps(FIXED, "Zoey's statement is true.\nMax is a knave.")
    assert v.first_error == 1 and v.marks[1].kind == "false_claim"


def test_refuting_an_assumption_without_a_contradiction_is_flagged():
    # Assume Zoey is a knight (true); declare a contradiction while nested in another case.
    text = ("Assume Max is a knight. Then Max's statement must be true.\n"
            "Assume Zoey is a knight. Then Zoey's statement must be true.\n"
            "Contradiction, so Zoey is a knave.")
    v = TASK.verify_steps(FIXED, text)
    assert v.first_error == 2 and "no contradiction" in v.marks[2].reason


# -- error injection ------------------------------------------------------------------------

def test_injection_found_at_label_for_every_step():
    problems = [FIXED] + [generate_puzzle(n, seed=s, index=i).to_problem()
                          for n, s, i in [(2, 0, 1), (3, 1, 2), (4, 2, 3), (5, 3, 0), (6, 0, 5), (8, 0, 1)]]
    for p in problems:
        g = gold(p).splitlines()
        for k in range(len(p.steps)):
            inj = inject_error(p, k)
            assert inj.kind == "wrong_claim" and inj.problem_id == p.id
            v = TASK.verify_steps(p, inj.text)
            assert v.first_error == inj.first_error, (p.id, k, inj.text)
            assert not TASK.verify(p, inj.text).correct
            lines = inj.text.splitlines()
            assert lines[:k] == g[:k] and lines[k] != g[k]  # the prefix is untouched
            assert v.steps[inj.first_error].start <= sum(len(x) + 1 for x in lines[:k]) + len(lines[k]) - 1
            assert inject_error(p, k) == inj  # deterministic


def test_injection_options():
    with pytest.raises(ValueError):
        inject_error(FIXED, 0, kind="wrong_value")
    with pytest.raises(IndexError):
        inject_error(FIXED, len(FIXED.steps))
    # seed picks among the claims of a step that has several
    texts = {inject_error(FIXED, len(FIXED.steps) - 1, seed=s).text for s in range(6)}
    assert len(texts) > 1


# -- memorization ---------------------------------------------------------------------------

def test_limem_hand_computed():
    original = {"a": True, "b": True, "c": True, "d": True, "e": False}
    perturbed = {"a~leaf": True, "b~leaf": False, "c~leaf": True, "d~leaf": False, "e~leaf": True}
    s = memorization_score(original, perturbed)
    # Acc = 4/5; CR = 2 of 4 solved stay solved = 0.5; LiMem = 0.8 * 0.5 = 0.4
    assert (s.acc, s.cr, s.n_solved, s.n_pairs) == (0.8, 0.5, 4, 4)
    assert s.limem == pytest.approx(0.4)
    assert limem(0.8, 0.5) == pytest.approx(0.4)
    multi = memorization_score({"a": True, "b": False}, {"a": [True, False, False]})
    assert multi.cr == pytest.approx(1 / 3) and multi.limem == pytest.approx(0.5 * 2 / 3)
    assert memorization_score({"a": False}, {}).limem == 0.0
    with pytest.raises(KeyError):
        memorization_score({"a": True}, {})
    with pytest.raises(ValueError):
        limem(1.2, 0.1)


# -- properties -----------------------------------------------------------------------------

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 5), seed=st.integers(0, 10_000), index=st.integers(0, 50),
       d=st.integers(2, 3), w=st.integers(2, 3))
def test_property_unique_and_gold_passes(n, seed, index, d, w):
    p = generate_puzzle(n, seed=seed, index=index, depth=d, width=w).to_problem()
    assert len(brute_force(stmts_of(p), n)) == 1
    text = gold(p)
    assert TASK.verify(p, text).correct
    assert TASK.verify_steps(p, text).first_error == -1
    k = index % len(p.steps)
    inj = inject_error(p, k)
    assert TASK.verify_steps(p, inj.text).first_error == inj.first_error
