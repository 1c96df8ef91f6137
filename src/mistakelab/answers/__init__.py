"""Final-answer extraction, normalization and equivalence checking.

Example:
    >>> from mistakelab.answers import check_answer
    >>> v = check_answer("So the total is \\\\boxed{1,000}.", "1000")
    >>> v.extracted, v.method, v.correct
    ('1,000', 'boxed', True)
"""

from mistakelab.answers.check import answer_key, answers_match, check_answer, to_number
from mistakelab.answers.extract import Extraction, boxed_answers, extract_answer, first_boxed_end
from mistakelab.answers.normalize import normalize_answer

__all__ = [
    "Extraction",
    "answer_key",
    "answers_match",
    "boxed_answers",
    "first_boxed_end",
    "check_answer",
    "extract_answer",
    "normalize_answer",
    "to_number",
]
