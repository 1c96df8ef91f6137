"""Running model-written programs in a confined separate process.

- :func:`run_program` / :func:`run_program_async`: run Python source under limits and the
  strongest isolation this machine allows (:func:`isolation_report` says which, and what is
  not isolated); the result is a typed :class:`ProgramRun`.
- :func:`extract_program`: the program in a model's output (fences, plain code, uncalled
  functions, final expressions), found with ``ast``; :func:`program_answer`: its answer.

This package depends on nothing else of mistakelab.

>>> program = extract_program("```python\\ndef solution():\\n    return 16 - 3 - 4\\n```")
>>> program_answer(run_program(program.source))
'9'
"""

from mistakelab.sandbox.aio import ProgramPool, run_program_async
from mistakelab.sandbox.answer import answer_from_output, normalize_number, program_answer
from mistakelab.sandbox.classify import parse_exception
from mistakelab.sandbox.extract import Program, extract_program
from mistakelab.sandbox.isolation import IsolationReport, LevelReport, isolation_report
from mistakelab.sandbox.limits import IsolationLevel, Limits
from mistakelab.sandbox.result import ProgramRun, RunStatus
from mistakelab.sandbox.runner import run_program

__all__ = [
    "IsolationLevel",
    "IsolationReport",
    "LevelReport",
    "Limits",
    "Program",
    "ProgramPool",
    "ProgramRun",
    "RunStatus",
    "answer_from_output",
    "extract_program",
    "isolation_report",
    "normalize_number",
    "parse_exception",
    "program_answer",
    "run_program",
    "run_program_async",
]
