"""Find the final answer in a model's free-text output.

Methods, in priority order (the first that finds anything wins):

1. ``boxed``: the content of ``\\boxed{...}`` / ``\\fbox{...}`` (nested braces; ``\\{`` and
   ``\\}`` are literal). Empty boxes (an echo of the instruction) and unclosed ones (output
   cut off mid-answer) are skipped.
2. ``answer_is``: "the (final) answer is X", "Answer: X", "**Answer:** X", "answer = X"...
   (case-insensitive). X is the rest of the line, cut at the end of the sentence; a leading
   inline math segment (``$...$``, ``\\(...\\)``) is taken whole; prose around a single
   number gives the number; a longer phrase (over 8 words) introduces work and is skipped.
3. ``hash``: GSM8K-style ``#### X``.
4. ``last_number``: the last number in the text. This is a guess, and the method name says
   so; callers that want strict extraction can treat it as "no answer".

When a method finds several answers, ``candidates`` lists them all in text order and the
LAST one is chosen (models restate and correct themselves; the last statement is final).
``none`` (with ``text=None``) means nothing was found at all.

Every pattern is linear in the input (possessive quantifiers, a one-pass brace matcher), so
long runaway repetitions stay fast.

Example:
    >>> extract_answer("So 3 + 4 = 7. The answer is 7.").text
    '7'
    >>> ex = extract_answer("First \\\\boxed{5}, no wait: \\\\boxed{\\\\frac{1}{2}}")
    >>> ex.text, ex.method, ex.candidates
    ('\\\\frac{1}{2}', 'boxed', ['5', '\\\\frac{1}{2}'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_BOX_CMD = re.compile(r"\\(?:boxed|fbox)\b[ \t]*+")
# "answer" then a linking word; possessive quantifiers keep runs of spaces/stars linear.
_ANSWER_IS = re.compile(
    r"\banswer\b(?:[ \t]*+\*\*)?[ \t]*+"
    r"(?:is\b|would be\b|should be\b|=|:)"
    r"(?:[ \t]*+:)?(?:[ \t]*+\*\*)?[ \t]*+"
    r"([^\n]{0,300})(?:(?=\n\s*+([^\n]{0,300})))?",  # peek at the next line, unconsumed
    re.IGNORECASE,
)
_HASH = re.compile(r"####[ \t]*+([^\n]{1,200})")
_LAST_NUMBER = re.compile(
    r"(?:(?<![\w)\]}])-)?(?<![\w.])(?:\d{1,3}(?:,\d{3})++(?!\d)|\d++)(?:\.\d++)?"
    r"(?:/\d++)?(?![\d/])"
)
_MATH_LEAD = re.compile(r"^(?:\$\$(.+?)\$\$|\$(.+?)\$(?!\d)|\\\((.+?)\\\)|\\\[(.+?)\\\])")
_SENTENCE_END = re.compile(r"\.(?!\d)|[;!?]|,\s|\s(?:because|since|which|so|as|and the)\b")
_NUM_IN_TEXT = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class Extraction:
    """An extracted answer.

    ``method`` is one of ``boxed``, ``answer_is``, ``hash``, ``last_number`` (a fallback
    guess) or ``none``; ``candidates`` are all answers that method found, in text order.

    Example:
        >>> Extraction("5", "hash", ["5"]).found
        True
    """

    text: str | None
    method: str
    candidates: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.text is not None


def _brace_pairs(text: str) -> dict[int, int]:
    """Map each ``{`` position to its matching ``}`` in one pass (escaped braces ignored)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for m in re.finditer(r"\\.|[{}]", text, flags=re.S):
        ch = m.group()
        if ch == "{":
            stack.append(m.start())
        elif ch == "}" and stack:
            pairs[stack.pop()] = m.start()
    return pairs


def first_boxed_end(text: str) -> int | None:
    """Index just past the closing brace of the first closed, non-empty ``\\boxed{...}`` (or
    ``\\fbox{...}``) in ``text``; None while there is none. Generation stops there when a
    request asks to stop once the answer is given (``GenParams.stop_after_boxed``).

    Example:
        >>> t = "So \\\\boxed{} is the format: 3 + 4 = 7, \\\\boxed{7}. More text"
        >>> t[:first_boxed_end(t)]
        'So \\\\boxed{} is the format: 3 + 4 = 7, \\\\boxed{7}'
        >>> first_boxed_end("\\\\boxed{\\\\frac{1}{2") is None
        True
    """
    if "\\boxed" not in text and "\\fbox" not in text:
        return None
    pairs: dict[int, int] | None = None
    for m in _BOX_CMD.finditer(text):
        i = m.end()
        if i < len(text) and text[i] == "{":
            pairs = _brace_pairs(text) if pairs is None else pairs
            j = pairs.get(i)
            if j is not None and text[i + 1 : j].strip():
                return j + 1
    return None


def boxed_answers(text: str) -> list[str]:
    """Contents of every non-empty, closed ``\\boxed{}``/``\\fbox{}``, in text order.

    Example:
        >>> boxed_answers("\\\\boxed{} ... \\\\boxed{\\\\frac{1}{2}} and \\\\fbox{3}")
        ['\\\\frac{1}{2}', '3']
    """
    if "\\boxed" not in text and "\\fbox" not in text:
        return []
    pairs: dict[int, int] | None = None
    out = []
    for m in _BOX_CMD.finditer(text):
        i = m.end()
        if i < len(text) and text[i] == "{":
            pairs = _brace_pairs(text) if pairs is None else pairs
            j = pairs.get(i)
            if j is None:  # unclosed: the output was cut off inside the box
                continue
            content = text[i + 1 : j].strip()
        else:  # "\boxed 5": one token
            tok = re.match(r"[^\s$]{1,100}", text[i:])
            content = tok.group() if tok else ""
        if content:
            out.append(content)
    return out


def _clean_said(first: str, next_line: str | None) -> str:
    """Turn the text after "the answer is" into the answer itself."""
    s = first.replace("\\boxed{}", "").strip()  # echo of the instruction, not an answer
    if not s.strip("*$ ") and next_line:  # "**Answer:**" alone, the answer on the next line
        s = next_line.strip()
    s = s.replace("**", "").strip()
    if "\\boxed" in s or "\\fbox" in s:  # unclosed box (closed ones won earlier): cut off
        return ""
    m = _MATH_LEAD.match(s)
    if m:
        return next(g for g in m.groups() if g is not None).strip()
    cut = _SENTENCE_END.search(s)
    if cut:
        s = s[: cut.start()]
    s = s.strip().strip("*_").strip()
    # Prose around a single number ("that John has 18 apples left") -> the number.
    words = s.split()
    nums = _NUM_IN_TEXT.findall(s)
    if len(words) > 3 and len(nums) == 1 and "\\" not in s and not re.search(r"[=+*/^]", s):
        return nums[0]
    if len(words) > 8:  # "To find the answer: we first add ..." introduces work, not a result
        return ""
    return s


def _answer_is(text: str) -> list[str]:
    out = []
    for m in _ANSWER_IS.finditer(text):
        said = _clean_said(m.group(1), m.group(2))
        if said:
            out.append(said)
    return out


def extract_answer(text: str | None) -> Extraction:
    """Return the final answer found in ``text`` (boxed > "the answer is" > #### > last number).

    Example:
        >>> extract_answer("Natalia sold 48 + 24 = 72 clips.\\n#### 72").method
        'hash'
        >>> extract_answer("I am not sure.").method
        'none'
    """
    if not text:
        return Extraction(None, "none", [])
    boxed = boxed_answers(text)
    if boxed:
        return Extraction(boxed[-1], "boxed", boxed)
    said = _answer_is(text)
    if said:
        return Extraction(said[-1], "answer_is", said)
    hashes = [h.strip() for h in _HASH.findall(text) if h.strip()]
    if hashes:
        return Extraction(hashes[-1], "hash", hashes)
    nums = _LAST_NUMBER.findall(text)
    if nums:
        return Extraction(nums[-1], "last_number", nums)
    return Extraction(None, "none", [])
