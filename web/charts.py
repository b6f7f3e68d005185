"""Server-rendered SVG charts: small, no JavaScript, fast on a Pi Zero 2's browser.

Pure functions from numbers to SVG markup (escaped with markupsafe); colours
come from CSS classes so night mode restyles them without a second render.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date

from markupsafe import Markup, escape

from monitor.vocabulary import plural

GAP_MS = 10 * 60_000
MAX_DOTS = 200  # beyond this many nights the strip plot bins them
BIN_C = 0.2  # a longer silence breaks the line instead of bridging it


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def downsample(points: Sequence[tuple[int, float]], buckets: int) -> list[tuple[int, float]]:
    """Mean per time bucket, so a night of 30-s readings becomes a few hundred points."""
    if len(points) <= buckets or not points:
        return list(points)
    lo, hi = points[0][0], points[-1][0]
    span = max(1, hi - lo)
    out: list[tuple[int, float]] = []
    cur, acc_t, acc_v, n = None, 0, 0.0, 0
    for t, v in points:
        b = min(buckets - 1, (t - lo) * buckets // span)
        if b != cur and n:
            out.append((acc_t // n, acc_v / n))
            acc_t, acc_v, n = 0, 0.0, 0
        cur = b
        acc_t += t
        acc_v += v
        n += 1
    if n:
        out.append((acc_t // n, acc_v / n))
    return out


def _nice_range(lo: float, hi: float, pad: float = 0.5) -> tuple[float, float]:
    lo, hi = math.floor(lo - pad), math.ceil(hi + pad)
    if hi - lo < 2:
        hi = lo + 2
    return lo, hi


CHART_W = 380  # viewBox width: about 1 px per CSS px on a 390-px phone, so 13-px text stays 12+
GROUP_PX = 14  # cramps closer than this on the chart share one mark, with a count
MERGE_MS = 15 * 60_000  # cold stretches this close together are one stretch
LABEL_ROW_H = 16


def cold_spans(
    points: Sequence[tuple[int, float]], threshold: float, *, merge_ms: int = MERGE_MS
) -> list[tuple[int, int]]:
    """(start, end) of each stretch of readings below the threshold, short breaks merged."""
    spans: list[list[int]] = []
    for t, v in points:
        if v >= threshold:
            continue
        if spans and t - spans[-1][1] <= merge_ms:
            spans[-1][1] = t
        else:
            spans.append([t, t])
    return [(a, b) for a, b in spans]


def group_marks(marks: Sequence[int], px: Callable[[int], float]) -> list[list[int]]:
    """Near-simultaneous instants (closer than GROUP_PX on the chart) as one group."""
    groups: list[list[int]] = []
    for t in sorted(marks):
        if groups and px(t) - px(groups[-1][0]) < GROUP_PX:
            groups[-1].append(t)
        else:
            groups.append([t])
    return groups


def _label_width(text: str) -> float:
    return 7.4 * len(text) + 6  # 13-px system-ui digits, with a little air


def _svg_open(width: int, height: int, title: str, description: str = "") -> list[str]:
    """A chart's opening tag and title: the title (and description) is its text alternative."""
    label = f"{title}. {description}" if description else title
    return [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
    ]


def _value_axis(
    lo: float, hi: float, sy: Callable[[float], float], left: float, right: float, unit: str
) -> list[str]:
    """Grid lines and whole-degree labels on the left, the unit written above them."""
    parts = [f'<text class="axis" x="{left - 4}" y="14" text-anchor="end">{escape(unit)}</text>']
    step = max(1, round((hi - lo) / 4))
    v = lo
    while v <= hi:
        y = sy(v)
        parts.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>')
        parts.append(
            f'<text class="axis" x="{left - 4}" y="{_fmt(y + 4)}" text-anchor="end">{v:g}</text>'
        )
        v += step
    return parts


def time_chart(
    points: Sequence[tuple[int, float]],
    *,
    x_range: tuple[int, int],
    label_fn: Callable[[int], str],
    threshold: float | None = None,
    marks: Sequence[int] = (),
    width: int = CHART_W,
    height: int = 190,
    title: str = "Temperature",
    description: str = "",
    unit: str = "°C",
) -> Markup:
    """A line over time: the cold stretches shaded, the threshold dashed (its label above the
    plot, clear of the data), cramps as marks with their times written under the time axis
    (near-simultaneous ones grouped, with a count).  ``description`` is the text alternative."""
    x0, x1 = x_range
    span = max(1, x1 - x0)
    left, right, top = 30, 8, 22
    pw = width - left - right

    def sx(t: int) -> float:
        return left + (t - x0) / span * pw

    groups = group_marks([t for t in marks if x0 <= t < x1], sx)
    # Cramp labels under the axis, in as many rows as they need not to overlap.
    rows_end: list[float] = []
    placed = []
    for g in groups:
        text = label_fn(g[0])
        w = _label_width(text)
        x = min(max(sx(g[0]), left + w / 2), width - right - w / 2)
        for row, end in enumerate(rows_end):
            if x - w / 2 >= end:
                rows_end[row] = x + w / 2
                break
        else:
            row = len(rows_end)
            rows_end.append(x + w / 2)
        placed.append((g, text, x, row))
    axis_h = 22
    bottom = axis_h + LABEL_ROW_H * len(rows_end) + (4 if rows_end else 0)
    height = max(height, 150 + bottom)
    ph = height - top - bottom
    values = [v for _, v in points]
    if threshold is not None:
        values.append(threshold)
    lo, hi = _nice_range(min(values), max(values)) if values else (15.0, 25.0)

    def sy(v: float) -> float:
        return top + (hi - v) / (hi - lo) * ph

    parts = _svg_open(width, height, title, description)
    if threshold is not None and points:
        for a, b in cold_spans(points, threshold):
            xa, xb = sx(a), max(sx(b), sx(a) + 2)
            parts.append(
                f'<rect class="cold-span" x="{_fmt(xa)}" y="{top}" width="{_fmt(xb - xa)}" '
                f'height="{_fmt(ph)}"/>'
            )
    parts += _value_axis(lo, hi, sy, left, width - right, unit)
    axis_y = top + ph + 16
    for i in range(5):
        t = x0 + span * i // 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(
            f'<text class="axis" x="{_fmt(sx(t))}" y="{axis_y}" '
            f'text-anchor="{anchor}">{escape(label_fn(t))}</text>'
        )
    if threshold is not None:
        y = sy(threshold)
        parts.append(
            f'<line class="threshold" x1="{left}" x2="{width - right}" '
            f'y1="{_fmt(y)}" y2="{_fmt(y)}"/>'
        )
        # Above the plot area: no line, mark or shading ever crosses it.
        parts.append(
            f'<text class="threshold-label" x="{width - right}" y="14" '
            f'text-anchor="end">- - cold below {threshold:g} {unit}</text>'
        )
    segments: list[list[str]] = []
    prev = None
    for t, val in points:
        if prev is None or t - prev > GAP_MS:
            segments.append([])
        segments[-1].append(f"{_fmt(sx(t))},{_fmt(sy(val))}")
        prev = t
    for seg in segments:
        if len(seg) == 1:
            x, y = seg[0].split(",")
            parts.append(f'<circle class="line-dot" cx="{x}" cy="{y}" r="2"/>')
        else:
            parts.append(f'<polyline class="line" points="{" ".join(seg)}"/>')
    for g, text, lx, row in placed:
        x = _fmt(sx(g[0]))
        times = ", ".join(label_fn(t) for t in g)
        tip = f"cramp at {times}" if len(g) == 1 else f"{len(g)} cramps, at {times}"
        count = (
            f'<text class="cramp-count" x="{x}" y="{top + 11}" text-anchor="middle">{len(g)}</text>'
            if len(g) > 1
            else ""
        )
        parts.append(
            f'<g class="cramp-mark"><title>{escape(tip)}</title>'
            f'<line x1="{x}" x2="{x}" y1="{top}" y2="{top + ph}"/>'
            f'<circle cx="{x}" cy="{top + 7}" r="{8 if len(g) > 1 else 5}"/>{count}</g>'
        )
        ly = axis_y + 4 + LABEL_ROW_H * (row + 1)
        parts.append(
            f'<text class="cramp-label" x="{_fmt(lx)}" y="{ly}" text-anchor="middle">'
            f"{escape(text)}</text>"
        )
    if not points:
        parts.append(
            f'<text class="empty" x="{width / 2}" y="{_fmt(top + ph / 2)}" '
            f'text-anchor="middle">no readings</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(
    points: Sequence[tuple[int, float]],
    *,
    width: int = 240,
    height: int = 48,
    min_span: float = 2.0,
) -> Markup:
    """The last hour's trend, no axes, on a scale of at least ``min_span`` °C: a tenth of a
    degree of sensor noise stays a flat line instead of filling the height."""
    if len(points) < 2:
        return Markup("")
    ts = [t for t, _ in points]
    vs = [v for _, v in points]
    mid = (min(vs) + max(vs)) / 2
    half = max(min_span, max(vs) - min(vs) + 0.4) / 2
    lo, hi = mid - half, mid + half
    t0, span = ts[0], max(1, ts[-1] - ts[0])
    coords = " ".join(
        f"{_fmt(2 + (t - t0) / span * (width - 4))},{_fmt(2 + (hi - v) / (hi - lo) * (height - 4))}"
        for t, v in points
    )
    words = f"last hour: from {vs[0]:.1f} to {vs[-1]:.1f} °C"
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(words)}" xmlns="http://www.w3.org/2000/svg">'
        f'<polyline class="line" points="{coords}"/></svg>'
    )


def strip_plot(
    groups: Sequence[tuple[str, Sequence[float]]],
    *,
    threshold: float | None = None,
    width: int = CHART_W,
    height: int = 170,
) -> Markup:
    """Each night as a dot on a temperature axis, one row per group (cramp / cramp-free),
    the group's name and count above its row."""
    values = [v for _, vs in groups for v in vs]
    if threshold is not None:
        values.append(threshold)
    if not values:
        return Markup('<p class="muted">No valid nights yet.</p>')
    lo, hi = _nice_range(min(values), max(values))
    left, right, top, bottom = 14, 14, 6, 24
    pw = width - left - right
    row_h = (height - top - bottom) / max(1, len(groups))
    medians = {label: sorted(vs)[len(vs) // 2] for label, vs in groups if vs}
    words = "; ".join(
        f"{label}: {len(vs)}" + (f", median minimum {medians[label]:.1f} °C" if vs else "")
        for label, vs in groups
    )

    def sx(v: float) -> float:
        return left + (v - lo) / (hi - lo) * pw

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Minimum night temperature by group. {escape(words)}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    v = lo
    while v <= hi:
        x = _fmt(sx(v))
        parts.append(f'<line class="grid" x1="{x}" x2="{x}" y1="{top}" y2="{height - bottom}"/>')
        parts.append(
            f'<text class="axis" x="{x}" y="{height - 8}" text-anchor="middle">{v:g}</text>'
        )
        v += max(1, round((hi - lo) / 8))
    if threshold is not None:
        x = _fmt(sx(threshold))
        parts.append(
            f'<line class="threshold" x1="{x}" x2="{x}" y1="{top}" y2="{height - bottom}"/>'
        )
    for i, (label, vs) in enumerate(groups):
        cy = top + row_h * (i + 0.5) + 8
        parts.append(
            f'<text class="label" x="{left}" y="{_fmt(cy - row_h / 2 + 6)}">'
            f"{escape(label)} ({len(vs)})</text>"
        )
        if len(vs) <= MAX_DOTS:
            for j, val in enumerate(vs):
                jitter = ((j * 37) % 11 - 5) * row_h / 40
                parts.append(
                    f'<circle class="dot dot-{i}" cx="{_fmt(sx(val))}" '
                    f'cy="{_fmt(cy + jitter)}" r="4"/>'
                )
        else:  # years of nights: one circle per 0.2 °C bin, area by count (bounded SVG)
            bins: dict[int, int] = {}
            for val in vs:
                bins[round(val / BIN_C)] = bins.get(round(val / BIN_C), 0) + 1
            top_count = max(bins.values())
            for b, count in sorted(bins.items()):
                r = 1.5 + 6.5 * math.sqrt(count / top_count)
                parts.append(
                    f'<circle class="dot dot-{i}" cx="{_fmt(sx(b * BIN_C))}" cy="{_fmt(cy)}" '
                    f'r="{_fmt(r)}"><title>{count} nights</title></circle>'
                )
        if vs:
            x = _fmt(sx(medians[label]))
            parts.append(
                f'<line class="median" x1="{x}" x2="{x}" y1="{_fmt(cy - row_h / 3)}" '
                f'y2="{_fmt(cy + row_h / 3)}"/>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def band_chart(
    bands: Sequence[tuple[str, float | None, int]],
    *,
    width: int = CHART_W,
    height: int = 190,
    few_below: int = 0,
) -> Markup:
    """Cramp rate (share of nights with a cramp) per temperature band, with n under each.

    A band with fewer than `few_below` nights is drawn grey (class "few"): too few to
    read a rate from."""
    if not bands:
        return Markup('<p class="muted">No valid nights yet.</p>')
    left, right, top, bottom = 44, 8, 12, 44
    pw, ph = width - left - right, height - top - bottom
    bw = pw / len(bands)
    # Labels that would overlap at 13 px are written for every second (third...) band only.
    every = max(1, math.ceil(_label_width(max((b[0] for b in bands), key=len)) / bw))
    # The counts are shorter than the labels: every band shows its n where they fit.
    every_n = max(1, math.ceil(_label_width(f"n={max(b[2] for b in bands)}") / bw))
    words = "; ".join(
        f"{label}: {'no nights' if rate is None else f'{rate:.0%} of {n} nights'}"
        for label, rate, n in bands
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Cramp rate by 1 degree band. {escape(words)}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for frac in (0, 0.5, 1):
        y = _fmt(top + (1 - frac) * ph)
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y}" y2="{y}"/>')
        parts.append(
            f'<text class="axis" x="{left - 4}" y="{y}" text-anchor="end">{int(frac * 100)}%</text>'
        )
    for i, (label, rate, n) in enumerate(bands):
        x = left + i * bw
        if rate is not None:
            h = rate * ph
            few = n < few_below
            note = f" (fewer than {few_below}: too few to read)" if few else ""
            parts.append(
                f'<rect class="bar{" few" if few else ""}" x="{_fmt(x + bw * 0.15)}" '
                f'y="{_fmt(top + ph - h)}" width="{_fmt(bw * 0.7)}" height="{_fmt(h)}">'
                f"<title>{escape(label)}: {rate:.0%} of {n} nights{note}</title></rect>"
            )
        cx = _fmt(x + bw / 2)
        if i % every == 0:
            parts.append(
                f'<text class="axis" x="{cx}" y="{height - 26}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
        if i % every_n == 0:
            parts.append(
                f'<text class="axis" x="{cx}" y="{height - 8}" text-anchor="middle">n={n}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


WITHIN_MONTH_TITLES = 400  # beyond this many nights the points carry no hover text


def within_month_chart(
    points: Sequence[tuple[date, float, float, bool]],
    *,
    summary: str = "",
    unit: str = "half-month",
    width: int = CHART_W,
    height: int = 200,
) -> Markup:
    """Each night's minimum minus its stratum's average, in date order; cramp nights marked.

    points: (night, minimum °C, minimum minus the `unit`'s average °C, cramp night), the
    unit being the analysis' stratum ("half-month"; "month" for a report of version 2).
    Below the zero line a night was colder than usual for its half-month; `summary` is the
    chart's text alternative (its <desc>, also shown beside it by the page).
    """
    if not points:
        return Markup('<p class="muted">No valid nights yet.</p>')
    # "warmer/colder than usual" are written above and below the plot, never on a point.
    left, right, top, bottom = 34, 8, 22, 42
    height += 26
    pw, ph = width - left - right, height - top - bottom
    first = min(p[0] for p in points)
    last = max(p[0] for p in points)
    days = max(1, (last - first).days)
    reach = max(1.0, math.ceil(max(abs(p[2]) for p in points)))

    def sx(d: date) -> float:
        return left + (d - first).days / days * pw

    def sy(v: float) -> float:
        return top + (reach - v) / (2 * reach) * ph

    title = f"Each night's minimum against its {unit}'s average"
    parts = [
        f'<svg class="chart within-month" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="wm-title wm-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="wm-title">{escape(title)}</title>',
        f'<desc id="wm-desc">{escape(summary)}</desc>',
    ]
    step = max(1, math.ceil(reach / 3))
    v = -reach
    while v <= reach:
        y = _fmt(sy(v))
        label = "0" if v == 0 else f"{v:+g}".replace("-", "\u2212")
        parts.append(
            f'<line class="{"zero" if v == 0 else "grid"}" x1="{left}" x2="{width - right}" '
            f'y1="{y}" y2="{y}"/>'
        )
        parts.append(
            f'<text class="axis" x="{left - 4}" y="{_fmt(sy(v) + 4)}" text-anchor="end">'
            f"{label}</text>"
        )
        v += step
    parts.append(f'<text class="axis small" x="{left}" y="14">↑ warmer than usual (°C)</text>')
    parts.append(
        f'<text class="axis small" x="{left}" y="{top + ph + 15}">↓ colder than usual</text>'
    )
    months = []
    m = date(first.year, first.month, 1)
    while m <= last:
        months.append(m)
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    every = max(1, math.ceil(len(months) / 8))
    free_from = -math.inf  # month labels never overlap: one is left out instead
    for i, m in enumerate(months):
        x = sx(max(m, first))
        if m > first:
            parts.append(
                f'<line class="grid" x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{top}" y2="{top + ph}"/>'
            )
        label = m.strftime("%b %Y" if free_from == -math.inf or m.month == 1 else "%b")
        if i == 0 and len(months) > 1 and sx(months[1]) - x < 7 * len(label) + 6:
            continue  # a first month too short for its label: the next one carries the year
        if i % every == 0 and x >= free_from and x + 7 * len(label) <= width:
            parts.append(f'<text class="axis" x="{_fmt(x + 2)}" y="{height - 6}">{label}</text>')
            free_from = x + 7 * len(label) + 6
    titled = len(points) <= WITHIN_MONTH_TITLES
    for night, low, dev, cramp in sorted(points, key=lambda p: (p[3], p[0])):
        cls, r = ("wm wm-cramp", 4) if cramp else ("wm", 2.5)
        circle = f'<circle class="{cls}" cx="{_fmt(sx(night))}" cy="{_fmt(sy(dev))}" r="{r}"'
        if titled:
            side = "below" if dev < 0 else "above"
            words = (
                f"{night.strftime('%a %d %b %Y')}: {low:.1f} °C, {abs(dev):.1f} °C {side} "
                f"its {unit}'s average{', cramp night' if cramp else ''}"
            )
            parts.append(f"{circle}><title>{escape(words)}</title></circle>")
        else:
            parts.append(f"{circle}/>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _category_axis(labels: Sequence[str], left: float, pw: float, y: float) -> list[str]:
    """Period names under their columns, every second (third...) one when they would touch."""
    if not labels:
        return []
    bw = pw / len(labels)
    every = max(1, math.ceil(_label_width(max(labels, key=len)) / bw))
    return [
        f'<text class="axis" x="{_fmt(left + (i + 0.5) * bw)}" y="{y}" text-anchor="middle">'
        f"{escape(label)}</text>"
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def minimum_chart(
    labels: Sequence[str],
    means: Sequence[float | None],
    lows: Sequence[float | None],
    *,
    threshold: float | None = None,
    title: str = "Night minimum",
    description: str = "",
    width: int = CHART_W,
    height: int = 190,
    unit: str = "°C",
) -> Markup:
    """Per period: the average night minimum (a dot on a line) and the coldest night (the
    whisker's lower end); the cold threshold dashed, its label above the plot."""
    values = [v for v in (*means, *lows) if v is not None]
    if not values:
        return Markup('<p class="muted">No nights with readings yet.</p>')
    if threshold is not None:
        values.append(threshold)
    lo, hi = _nice_range(min(values), max(values))
    left, right, top, bottom = 34, 8, 22, 26
    pw, ph = width - left - right, height - top - bottom
    bw = pw / len(labels)

    def sx(i: int) -> float:
        return left + (i + 0.5) * bw

    def sy(v: float) -> float:
        return top + (hi - v) / (hi - lo) * ph

    parts = _svg_open(width, height, title, description)
    parts += _value_axis(lo, hi, sy, left, width - right, unit)
    if threshold is not None:
        y = _fmt(sy(threshold))
        parts.append(
            f'<line class="threshold" x1="{left}" x2="{width - right}" y1="{y}" y2="{y}"/>'
        )
        parts.append(
            f'<text class="threshold-label" x="{width - right}" y="14" '
            f'text-anchor="end">- - cold below {threshold:g} {unit}</text>'
        )
    line = []
    for i, (mean, low) in enumerate(zip(means, lows, strict=True)):
        if mean is None:
            continue
        x = _fmt(sx(i))
        if low is not None and low < mean:
            parts.append(
                f'<line class="range" x1="{x}" x2="{x}" y1="{_fmt(sy(mean))}" '
                f'y2="{_fmt(sy(low))}"/>'
            )
        line.append(f"{x},{_fmt(sy(mean))}")
        tip = f"{labels[i]}: average minimum {mean:.1f} {unit}" + (
            f", coldest night {low:.1f} {unit}" if low is not None else ""
        )
        parts.append(
            f'<circle class="line-dot" cx="{x}" cy="{_fmt(sy(mean))}" r="3.5">'
            f"<title>{escape(tip)}</title></circle>"
        )
    if len(line) > 1:
        parts.append(f'<polyline class="line" points="{" ".join(line)}"/>')
    parts += _category_axis(labels, left, pw, height - 8)
    parts.append("</svg>")
    return Markup("".join(parts))


def count_chart(
    labels: Sequence[str],
    values: Sequence[int],
    *,
    title: str,
    description: str = "",
    noun: str = "night",
    width: int = CHART_W,
    height: int = 150,
) -> Markup:
    """A whole number per period as bars, each with its number written above it."""
    if not labels:
        return Markup('<p class="muted">No nights with readings yet.</p>')
    top_value = max(1, max(values))
    left, right, top, bottom = 34, 8, 22, 26
    pw, ph = width - left - right, height - top - bottom
    bw = pw / len(labels)
    label = f"{title}. {description}" if description else title
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        f'<text class="axis" x="2" y="14">{escape(noun)}s</text>',
    ]
    step = max(1, math.ceil(top_value / 3))
    for v in range(0, top_value + 1, step):
        y = _fmt(top + ph - v / top_value * ph)
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y}" y2="{y}"/>')
        parts.append(
            f'<text class="axis" x="{left - 4}" y="{_fmt(float(y) + 4)}" text-anchor="end">'
            f"{v}</text>"
        )
    show_numbers = bw >= _label_width(str(top_value))
    for i, v in enumerate(values):
        h = v / top_value * ph
        x = left + i * bw
        parts.append(
            f'<rect class="bar" x="{_fmt(x + bw * 0.2)}" y="{_fmt(top + ph - h)}" '
            f'width="{_fmt(bw * 0.6)}" height="{_fmt(h)}">'
            f"<title>{escape(labels[i])}: {escape(plural(v, noun))}</title></rect>"
        )
        if show_numbers and v:
            parts.append(
                f'<text class="label" x="{_fmt(x + bw / 2)}" y="{_fmt(top + ph - h - 3)}" '
                f'text-anchor="middle">{v}</text>'
            )
    parts += _category_axis(labels, left, pw, height - 8)
    parts.append("</svg>")
    return Markup("".join(parts))
