"""The Study page's forest plot: each person's own odds ratio per °C colder, the pooled one.

A pure function from rows to SVG markup (server-side, no JavaScript, like web/charts.py;
colours from CSS classes so night mode restyles it).  The x axis is logarithmic: ×2 and
×0.5 sit equally far from "no link" (×1).  A separated fit has no finite estimate: it is
drawn as an arrow pointing to the side of its separation; a person without a usable
half-month is a row of text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from monitor.analysis.reports import _x as _ratio  # ×1.4, never ×1 for ×1.03
from web.charts import CHART_W

ROW_H = 24
LEFT = 64  # the row labels' column
RIGHT = 14
TOP = 44  # the two lines naming each side, above the rows
BOTTOM = 26  # the axis numbers
LIMIT = 32.0  # intervals reaching beyond ×1/32 or ×32 are cut at the edge, with a mark
TICKS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class Row:
    """One line of the plot: a label and a fit block (or None: no usable half-month)."""

    label: str
    fit: dict | None
    pooled: bool = False


def _tick(x: float) -> str:
    return f"×{x:g}" if x >= 1 else f"×1/{round(1 / x)}"


def _span(rows: Sequence[Row]) -> tuple[float, float]:
    """The axis's reach in log units: at least ×1/2 to ×2, at most ×1/32 to ×32."""
    reach = math.log(2)
    for r in rows:
        f = r.fit
        if not f or f.get("separation") or f.get("ci_low") is None or f.get("ci_high") is None:
            continue
        for v in (f["ci_low"], f["ci_high"], f["or_per_degree_colder"]):
            if v and v > 0:
                reach = max(reach, abs(math.log(v)))
    reach = min(math.log(LIMIT), math.log(2) * math.ceil(reach / math.log(2)))
    return -reach, reach


def row_words(row: Row) -> str:
    """A row in words: the chart's text alternative, and the table below it."""
    f = row.fit
    if not f:
        return "no usable half-month (no half-month with both a cramp night and a night without)"
    sep = f.get("separation")
    if sep:
        extreme = "coldest" if sep == "colder" else "warmest"
        return f"in every usable half-month the cramp nights were the {extreme}: no finite ratio"
    est, lo, hi = f["or_per_degree_colder"], f.get("ci_low"), f.get("ci_high")
    if lo is None or hi is None:
        return f"{_ratio(est)} per °C colder"
    return f"{_ratio(est)} per °C colder (95% interval {_ratio(lo)} to {_ratio(hi)})"


def forest_plot(rows: Sequence[Row], *, width: int = CHART_W) -> Markup:
    """Rows top to bottom (the pooled row last, as a diamond below a rule)."""
    if not rows:
        return Markup('<p class="muted">No one takes part yet.</p>')
    lo, hi = _span(rows)
    pw = width - LEFT - RIGHT
    gap = ROW_H // 2 if any(r.pooled for r in rows) else 0
    height = TOP + len(rows) * ROW_H + gap + BOTTOM

    def sx(v: float) -> float:
        return LEFT + (min(hi, max(lo, math.log(v))) - lo) / (hi - lo) * pw

    def fx(x: float) -> str:
        return f"{x:.1f}"

    words = "; ".join(f"{r.label}: {row_words(r)}" for r in rows)
    parts = [
        f'<svg class="chart forest" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Each person&#39;s odds ratio per degree colder, and all together. '
        f'{escape(words)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    bottom = height - BOTTOM
    for t in TICKS:
        if lo - 1e-9 <= math.log(t) <= hi + 1e-9:
            x = fx(sx(t))
            cls = "zero" if t == 1 else "grid"
            parts.append(f'<line class="{cls}" x1="{x}" x2="{x}" y1="{TOP - 4}" y2="{bottom}"/>')
            parts.append(
                f'<text class="axis" x="{x}" y="{height - 8}" text-anchor="middle">'
                f"{escape(_tick(t))}</text>"
            )
    one = sx(1)
    for anchor, x, first in (
        ("end", one - 6, "\u2190 warmer nights"),
        ("start", one + 6, "colder nights \u2192"),
    ):
        parts.append(
            f'<text class="axis" x="{fx(x)}" y="{TOP - 22}" text-anchor="{anchor}">{first}</text>'
            f'<text class="axis" x="{fx(x)}" y="{TOP - 8}" text-anchor="{anchor}">'
            "more cramps</text>"
        )
    y = TOP
    for r in rows:
        if r.pooled:
            y += gap
            parts.append(
                f'<line class="grid" x1="0" x2="{width}" y1="{fx(y - gap / 2)}"'
                f' y2="{fx(y - gap / 2)}"/>'
            )
        cy = y + ROW_H / 2
        label_cls = "label strong" if r.pooled else "label"
        parts.append(f'<text class="{label_cls}" x="4" y="{fx(cy + 4)}">{escape(r.label)}</text>')
        parts.append(_mark(r, cy, sx, lo, hi, fx))
        y += ROW_H
    parts.append("</svg>")
    return Markup("".join(parts))


def _mark(r: Row, cy: float, sx, lo: float, hi: float, fx) -> str:
    f = r.fit
    title = f"<title>{escape(r.label)}: {escape(row_words(r))}</title>"
    if not f:
        return (
            f'<text class="axis small" x="{fx(LEFT + 4)}" y="{fx(cy + 4)}">'
            f"no usable half-month{title}</text>"
        )
    sep = f.get("separation")
    if sep:  # no finite estimate: an arrow from ×1 to the edge of its side
        start = sx(1)
        end = sx(math.exp(hi)) - 2 if sep == "colder" else sx(math.exp(lo)) + 2
        d = 1 if sep == "colder" else -1
        head = f"{fx(end)},{fx(cy)} {fx(end - 8 * d)},{fx(cy - 5)} {fx(end - 8 * d)},{fx(cy + 5)}"
        return (
            f'<g class="fp-arrow"><line x1="{fx(start)}" x2="{fx(end - 6 * d)}" y1="{fx(cy)}"'
            f' y2="{fx(cy)}"/><polygon points="{head}"/>{title}</g>'
        )
    est, clo, chi = f["or_per_degree_colder"], f.get("ci_low"), f.get("ci_high")
    x0 = sx(clo) if clo else sx(math.exp(lo))
    x1 = sx(chi) if chi else sx(math.exp(hi))
    xe = sx(est)
    cls = "fp-pooled" if r.pooled else "fp-row"
    out = [f'<g class="{cls}">', title]
    out.append(f'<line x1="{fx(x0)}" x2="{fx(x1)}" y1="{fx(cy)}" y2="{fx(cy)}"/>')
    for x, cut in ((x0, not clo or math.log(clo) < lo), (x1, not chi or math.log(chi) > hi)):
        if cut:  # the interval goes on beyond the axis
            out.append(f'<line x1="{fx(x)}" x2="{fx(x)}" y1="{fx(cy - 6)}" y2="{fx(cy + 6)}"/>')
    if r.pooled:
        w, h = max(6.0, (x1 - x0) / 2), 8
        pts = f"{fx(x0)},{fx(cy)} {fx(xe)},{fx(cy - h)} {fx(x1)},{fx(cy)} {fx(xe)},{fx(cy + h)}"
        if x1 - x0 < 12:
            pts = (
                f"{fx(xe - w)},{fx(cy)} {fx(xe)},{fx(cy - h)} {fx(xe + w)},{fx(cy)}"
                f" {fx(xe)},{fx(cy + h)}"
            )
        out.append(f'<polygon class="diamond" points="{pts}"/>')
    else:
        out.append(f'<rect x="{fx(xe - 4)}" y="{fx(cy - 4)}" width="8" height="8"/>')
    out.append("</g>")
    return "".join(out)
