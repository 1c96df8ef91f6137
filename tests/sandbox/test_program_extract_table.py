"""Program extraction on model outputs written the way qwen2.5-coder-0.5b answers GSM8K-style
word problems when asked for a Python program; each program then runs in the sandbox and its
answer is read back."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mistakelab.sandbox import extract_program, program_answer, run_program

JANET = '''To solve this problem, we need to calculate how many eggs Janet has left after eating \
some for breakfast and baking muffins, and then multiply by the price per egg.

```python
def calculate_earnings():
    # Number of eggs laid per day
    eggs_per_day = 16
    # Eggs eaten for breakfast
    eggs_eaten = 3
    # Eggs used for muffins
    eggs_baked = 4
    # Price per egg
    price_per_egg = 2

    # Calculate the remaining eggs
    remaining_eggs = eggs_per_day - eggs_eaten - eggs_baked
    # Calculate the earnings
    earnings = remaining_eggs * price_per_egg
    return earnings

# Call the function and print the result
earnings = calculate_earnings()
print(f"Janet makes ${earnings} every day at the farmers' market.")
```

This program defines a function `calculate_earnings` that calculates the total earnings. When \
you run this program, it will output:

```
Janet makes $18 every day at the farmers' market.
```
'''

PAL_SOLUTION = '''```python
def solution():
    """A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in \
total does it take?"""
    blue_fiber = 2
    white_fiber = blue_fiber / 2
    total_fiber = blue_fiber + white_fiber
    result = total_fiber
    return result
```'''

SEVERAL_LAST = '''First, the profit is the new value minus the cost:

```python
profit = new_value - total_cost
```

Here is the complete program:

```python
house = 80000
repairs = 50000
total_cost = house + repairs
new_value = house * 2.5
profit = new_value - total_cost
print(profit)
```
'''

SEVERAL_LONGEST = '''```python
def solve():
    sprints_per_week = 3 * 3
    meters = 60
    return sprints_per_week * meters
```

Example usage:

```python
print(solve())
```

Output:

```
540
```
'''

SYNTAX_ERROR = '''```python
def solution()
    cups_per_chicken = 3
    chickens = 20
    return cups_per_chicken * chickens - 15 - 25
```'''

EMBEDDED = '''Here is the solution:

def total_pages():
    pages_per_letter = 3
    letters = 2 * 2
    weeks = 52
    return pages_per_letter * letters * weeks

print(total_pages())

The answer is 624 pages.'''

MAIN_GUARD_PRINTS = '''```python
def main():
    flowers = 10
    purple = flowers * 1.8
    yellow_purple = flowers + purple
    green = 0.25 * yellow_purple
    print(int(yellow_purple + green))

if __name__ == "__main__":
    main()
```'''

MAIN_GUARD_ASSIGNS = '''```python
def solution():
    total = 5 * 4 + 3
    return total

if __name__ == "__main__":
    result = solution()
```'''

PRINTS_INSIDE = '''```python
def find_cost():
    glasses = 16
    full_price = 5
    discounted = full_price * 0.6
    cost = (glasses // 2) * full_price + (glasses // 2) * discounted
    print(cost)
```'''

HELPER_AND_SOLUTION = '''```python
def cost_per_hour(base, extra):
    return base + extra

def solution():
    hours = 4
    return hours * cost_per_hour(10, 5)
```'''

UNCLOSED = '''Sure! Here's a Python program:

```python
eggs_total = 16 * 7
eggs_sold = eggs_total - 20
print(eggs_sold)
'''

INDENTED_IN_LIST = '''1. Compute the number of apples:

   ```python
   apples = 12 * 3
   apples_left = apples - 7
   print(apples_left)
   ```
2. That is the answer.'''

CASES = [
    # name, text, found, output, entry, answer after running
    ("script_prints_fstring", JANET, "fence", "prints", None, "18"),
    ("pal_solution_only_returns", PAL_SOLUTION, "fence", "call", "solution", "3"),
    ("several_fences_last_is_program", SEVERAL_LAST, "fence", "prints", None, "70000"),
    ("several_fences_usage_joined", SEVERAL_LONGEST, "fences", "prints", None, "540"),
    ("embedded_in_prose", EMBEDDED, "embedded", "prints", None, "624"),
    ("main_guard_prints", MAIN_GUARD_PRINTS, "fence", "prints", None, "35"),
    ("main_guard_assigns", MAIN_GUARD_ASSIGNS, "fence", "assignment", "result", "23"),
    ("uncalled_function_prints", PRINTS_INSIDE, "fence", "call_prints", "find_cost", "64"),
    ("helper_and_solution", HELPER_AND_SOLUTION, "fence", "call", "solution", "60"),
    ("unclosed_fence", UNCLOSED, "fence", "prints", None, "92"),
    ("fence_indented_in_a_list", INDENTED_IN_LIST, "fence", "prints", None, "29"),
    ("unlabeled_fence", "```\nboxes = 5\nper_box = 12\nprint(boxes * per_box)\n```", "fence",
     "prints", None, "60"),
    ("label_Python_uppercase", "```Python\nprint(7 * 8)\n```", "fence", "prints", None, "56"),
    ("label_py", "```py\nx = 9\nx * 3\n```", "fence", "expression", None, "27"),
    ("plain_code_no_fence", "speed = 60\nhours = 3\nprint(speed * hours)\n", "plain", "prints",
     None, "180"),
    ("final_bare_expression", "```python\ntotal = 3 * 12 + 4\ntotal\n```", "fence", "expression",
     None, "40"),
    ("final_bare_call", "```python\ndef solve():\n    return 8 * 7\nsolve()\n```", "fence",
     "expression", None, "56"),
    ("last_assignment_only", "```python\nanswer = 120 - 3 * 15\n```", "fence", "assignment",
     "answer", "75"),
    ("any_function_name", "```python\ndef compute_total_cost():\n    return 4 * 2.5 + 3\n```",
     "fence", "call", "compute_total_cost", "13"),
    ("defaults_make_it_callable",
     "```python\ndef solution(price=20, discount=0.25):\n    return price * (1 - discount)\n```",
     "fence", "call", "solution", "15"),
    ("called_with_arguments",
     "```python\ndef area(w, h):\n    return w * h\n\nprint(area(6, 7))\n```", "fence", "prints",
     None, "42"),
    ("needs_arguments_never_called",
     "```python\ndef total(price, qty):\n    return price * qty\n```", "fence", "none", None, None),
    ("float_result_normalized", "```python\ndef solution():\n    return 36 / 2\n```", "fence",
     "call", "solution", "18"),
    ("uses_math", "```python\nimport math\nprint(math.ceil(25 / 6))\n```", "fence", "prints", None,
     "5"),
    ("uncalled_solution_beside_prints",
     "```python\nprint('Solving the problem...')\n\ndef solution():\n    return 7 * 6\n```",
     "fence", "call", "solution", "42"),
    ("commented_out_call",
     "```python\ndef solution():\n    return 14 * 3\n\n# print(solution())\n```", "fence", "call",
     "solution", "42"),
]


@pytest.mark.parametrize("name, text, found, output, entry, answer", CASES, ids=[c[0] for c in CASES])
def test_extract_and_run(name, text, found, output, entry, answer) -> None:
    program = extract_program(text)
    assert program is not None
    assert (program.found, program.output, program.entry) == (found, output, entry)
    assert program.syntax_error is None
    run = run_program(program.source)
    assert run.ok, run.stderr
    assert program_answer(run) == answer


def test_syntax_error_is_kept_for_the_model_to_fix() -> None:
    program = extract_program(SYNTAX_ERROR)
    assert program is not None and program.syntax_error is not None
    assert "line 1" in program.syntax_error
    run = run_program(program.source)
    assert run.exception == "SyntaxError" and 'File "program.py", line 1' in run.stderr
    assert program_answer(run) is None
    assert "SyntaxError" in run.feedback()


@pytest.mark.parametrize("text", [
    "The answer is 18.",
    "Janet sells 16 - 3 - 4 = 9 eggs, so she makes 9 * 2 = $18.",
    "```bash\npython solve.py\n```",
    "```\n18\n```",
    "Output: 18",
    "Yes",
    "",
], ids=["prose", "arithmetic_prose", "bash_only", "output_only", "annotation_like", "one_word",
        "empty"])
def test_no_program(text) -> None:
    assert extract_program(text) is None


def test_code_is_kept_verbatim_so_tracebacks_match() -> None:
    text = "```python\nx = 10\ny = 0\nprint(x / y)\n```"
    program = extract_program(text)
    assert program is not None and program.source.startswith(program.code)
    run = run_program(program.source)
    assert run.exception == "ZeroDivisionError" and "line 3" in run.stderr


def test_runtime_failure_gives_no_answer() -> None:
    program = extract_program('```python\neggs = int(input("Eggs: "))\nprint(eggs * 2)\n```')
    assert program is not None and program.output == "prints"
    run = run_program(program.source)
    assert run.exception == "EOFError" and program_answer(run) is None


@dataclass(frozen=True)
class _Wrap:
    code: str
    expected: str


@pytest.mark.parametrize("case", [
    _Wrap("x = 2\nx  # the answer\n", "x = 2\nprint(x)  # the answer\n"),
    _Wrap("x = 2\n(x +\n 3)\n", "x = 2\n(print(x +\n 3))\n"),
    _Wrap("é = 2; é * 3\n", "é = 2; print(é * 3)\n"),
], ids=["comment", "multiline", "non_ascii"])
def test_final_expression_is_wrapped_in_place(case: _Wrap) -> None:
    program = extract_program(case.code)
    assert program is not None and program.source == case.expected
