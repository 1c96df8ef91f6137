"""The trace viewer as HTML: a summary line per unit (plain HTML, no script needed) and the
unit's detail as JSON data in an inert ``<script type="application/json">`` block.

Two rules keep it safe. Every value in markup goes through :func:`e` (clean, then escape,
quotes included) into double-quoted attributes or text. JSON goes through :func:`json_block`,
which escapes ``<``, ``>`` and ``&`` inside the JSON, so no text can close the block; the
page's script builds the detail with text nodes only.

Example:
    >>> e('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&#34;alert(1)&#34;&gt;'
    >>> json_block({"t": "</script><b>"})
    '{"t":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import escape

from mistakelab.report.html.text import clean
from mistakelab.report.html.viewer import SCHEMA, ProblemView, UnitView


def e(value: Any) -> str:
    """``value`` as escaped text (None: empty)."""
    return "" if value is None else str(escape(clean(str(value))))


def json_block(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return clean(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


_OK = {"1": '<span class="badge ok">right</span>', "0": '<span class="badge wrong">wrong</span>'}
_CHANGE = {"w2r": '<span class="badge w2r">wrong→right</span>', "r2w": '<span class="badge r2w">right→wrong</span>'}


def unit_html(u: UnitView) -> str:
    out = [f'<details class="unit" data-uid="{u.uid}" data-strategy="{e(u.strategy)}" data-model="{e(u.model)}" '
           f'data-task="{e(u.task)}" data-ok="{e(u.ok)}" data-change="{e(u.change)}" data-status="{e(u.status)}">'
           f'<summary><span class="strategy">{e(u.strategy)}</span> <span class="muted">{e(u.model)}</span> ']
    if u.status == "failed":
        out.append('<span class="badge failed">failed</span>')
    else:
        out.append(f'→ <span class="final">{e("(no answer)" if u.final is None else u.final)}</span>{_OK.get(u.ok, "")}')
    out.append(_CHANGE.get(u.change, ""))
    if u.first_error is not None and u.first_error >= 0:
        out.append(f'<span class="badge wrong">first wrong step {u.first_error}</span>')
    if u.oracle:
        out.append('<span class="badge oracle">oracle-assisted</span>')
    out.append(f'<span class="muted"> · {u.n_calls} calls · {u.tokens} tokens · {u.seconds:.1f} s</span></summary>'
               f'<div class="body"><noscript><p class="note">The calls, answers and steps of a unit are shown '
               f'with JavaScript.</p></noscript></div>'
               f'<script type="application/json" class="detail">{json_block(u.detail)}</script></details>')
    return "".join(out)


def problems_html(problems: list[ProblemView]) -> str:
    """Every problem's section, in order, after the schema of the units' detail records."""
    out = [f'<script type="application/json" id="viewer-schema">{json_block(SCHEMA)}</script>']
    for p in problems:
        question = p.question if len(p.question) <= 150 else p.question[:149] + "…"
        gold = "" if p.gold is None else f"<span>gold answer: <code>{e(p.gold)}</code></span>"
        out.append(f'<section class="problem" data-task="{e(p.task)}" data-pid="{e(p.problem_id)}"><header>'
                   f'<span class="pid">{e(p.problem_id)}</span><span class="task">{e(p.task)}</span>{gold}</header>'
                   f'<details class="question"><summary>{e(question)}</summary><pre class="txt">{e(p.question)}</pre>'
                   f'</details><div class="units">')
        out.extend(unit_html(u) for u in p.units)
        out.append("</div></section>")
    return "".join(out)
