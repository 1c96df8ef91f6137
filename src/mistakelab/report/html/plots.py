"""The report's plots, drawn with matplotlib as SVG and embedded as ``data:`` images.

An SVG shown through ``<img>`` can run no script whatever text it holds, so labels that
come from a run (strategy names, task labels) are safe in a plot. Mathtext is off (a ``$`` in
a label is a dollar sign) and the SVG is deterministic (fixed hash salt, no date).

Example:
    >>> uri = svg_uri(transitions_figure({"cot": {"right→right": 2, "wrong→right": 1}}))
    >>> uri.startswith("data:image/svg+xml;base64,")
    True
"""

from __future__ import annotations

import base64
import io
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure

from mistakelab.report.html.curves import TRANSITIONS, CurvePoint
from mistakelab.report.html.text import clean

_RC = {"svg.fonttype": "none", "text.parse_math": False, "svg.hashsalt": "mistakelab",
       "font.size": 9, "axes.spines.top": False, "axes.spines.right": False}
_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]
_TRANSITION_COLORS = {"right→right": "#7fbf7f", "wrong→right": "#1a9641", "right→wrong": "#d7191c",
                      "wrong→wrong": "#bdbdbd", "no first answer": "#eeeeee"}


def _short(label: str, n: int = 40) -> str:
    label = clean(label)
    return label if len(label) <= n else label[: n - 1] + "…"


def svg_uri(fig: Figure) -> str:
    """The figure as a base64 ``data:image/svg+xml`` URI."""
    buf = io.BytesIO()
    with rc_context(_RC):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(w: float = 6.4, h: float = 3.4) -> tuple[Figure, Any]:
    with rc_context(_RC):
        fig = Figure(figsize=(w, h))
        ax = fig.add_subplot()
    return fig, ax


def accuracy_tokens_figure(points: list[dict[str, Any]], curves: dict[str, list[CurvePoint]], title: str) -> Figure:
    """Accuracy (with 95% intervals) against mean tokens per problem, one point per strategy
    (``points``: strategy, tokens, accuracy, low, high, oracle, optional tokens_ci), and maj@m
    curves."""
    with rc_context(_RC):
        fig, ax = _figure()
        for i, p in enumerate(points):
            color = _COLORS[i % len(_COLORS)]
            y, lo, hi = 100 * p["accuracy"], 100 * p["low"], 100 * p["high"]
            tci = p.get("tokens_ci")
            xerr = [[max(0.0, p["tokens"] - tci[0])], [max(0.0, tci[1] - p["tokens"])]] if tci else None
            ax.errorbar([p["tokens"]], [y], yerr=[[max(0.0, y - lo)], [max(0.0, hi - y)]], xerr=xerr,
                        fmt="s" if p["oracle"] else "o",
                        color=color, capsize=3, label=_short(p["strategy"]) + (" [oracle]" if p["oracle"] else ""))
        index = {p["strategy"]: i for i, p in enumerate(points)}
        for j, (name, pts) in enumerate(curves.items()):
            xs, ys = [c.tokens for c in pts], [100 * c.accuracy for c in pts]
            color = _COLORS[index.get(name, len(points) + j) % len(_COLORS)]  # the strategy's own color
            ax.fill_between(xs, [100 * c.low for c in pts], [100 * c.high for c in pts], color=color, alpha=0.15, lw=0)
            ax.plot(xs, ys, "-", color=color, marker=".", label=f"maj@m of {_short(name, 30)} (m=1..{pts[-1].m})")
            for c in (pts[0], pts[-1]):
                ax.annotate(f"m={c.m}", (c.tokens, 100 * c.accuracy), textcoords="offset points", xytext=(4, -10),
                            fontsize=7, color=color)
        xs_all = [p["tokens"] for p in points] + [c.tokens for pts in curves.values() for c in pts]
        if xs_all and min(xs_all) > 0 and max(xs_all) / min(xs_all) > 8:
            ax.set_xscale("log")
        ax.set_xlabel("tokens per problem (prompt + completion)")
        ax.set_ylabel("accuracy % (95% CI)")
        ax.set_ylim(-2, 102)
        ax.set_title(_short(title, 80))
        ax.legend(fontsize=7, loc="best", frameon=False)
    return fig


def transitions_figure(counts: dict[str, dict[str, int]], title: str = "") -> Figure:
    """Horizontal stacked bars: first solution → final answer, per strategy."""
    names = list(counts)
    with rc_context(_RC):
        fig, ax = _figure(6.4, 0.5 + 0.45 * max(len(names), 1))
        left = [0] * len(names)
        for kind in TRANSITIONS:
            vals = [counts[n].get(kind, 0) for n in names]
            if not any(vals):
                continue
            ax.barh(range(len(names)), vals, left=left, color=_TRANSITION_COLORS[kind], label=kind,
                    edgecolor="white", lw=0.5)
            for y, (lft, v) in enumerate(zip(left, vals)):
                if v:
                    ax.text(lft + v / 2, y, str(v), ha="center", va="center", fontsize=7)
            left = [a + b for a, b in zip(left, vals)]
        ax.set_yticks(range(len(names)), [_short(n) for n in names])
        ax.invert_yaxis()
        ax.set_xlabel("problems")
        if title:
            ax.set_title(_short(title, 80))
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return fig


def first_error_figure(hists: dict[str, dict[int, int]], title: str) -> Figure:
    """Grouped bars: how many wrong final solutions first went wrong at each step, per strategy."""
    steps = sorted({s for h in hists.values() for s in h}) or [0]
    width = 0.8 / max(len(hists), 1)
    with rc_context(_RC):
        fig, ax = _figure()
        for i, (name, h) in enumerate(hists.items()):
            ax.bar([s + (i - (len(hists) - 1) / 2) * width for s in steps], [h.get(s, 0) for s in steps], width,
                   color=_COLORS[i % len(_COLORS)], label=_short(name))
        ax.set_xticks(steps)
        ax.set_xlabel("first wrong step (0 = the first step)")
        ax.set_ylabel("wrong solutions")
        ax.set_title(_short(title, 80))
        ax.legend(fontsize=7, frameon=False)
    return fig


def calibration_figure(curves: dict[str, list[tuple[float, float, int]]], title: str) -> Figure:
    """Reliability diagram: accuracy against mean confidence per bin (``curves``: label ->
    [(confidence, accuracy, n)]), with the diagonal of perfect calibration."""
    with rc_context(_RC):
        fig, ax = _figure(4.8, 3.6)
        ax.plot([0, 1], [0, 1], ":", color="#999999", lw=1, label="perfectly calibrated")
        for i, (name, pts) in enumerate(curves.items()):
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "-o", color=_COLORS[i % len(_COLORS)],
                    ms=3, label=_short(name, 60))
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("confidence (bin mean; rescaled signals: min-max)")
        ax.set_ylabel("accuracy in bin")
        ax.set_title(_short(title, 70))
        ax.legend(fontsize=7, frameon=False)
    return fig
