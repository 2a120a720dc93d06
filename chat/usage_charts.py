"""Charts of the usage page as SVG made on the server: no JavaScript, no CDN.

Each chart is a small ``<svg>`` with a ``viewBox``, so it scales to its box (one column
at 390 px, two or three at 1280 px). Text uses ``currentColor`` and the admin's font,
so it follows the admin's light and dark themes; numbers and dates are formatted in the
active language. Every bar and point carries a ``<title>`` (the browser's tooltip) with
its bucket and value, and each chart has a text alternative (``aria-label``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# viewBox size and plot margins (user units; the SVG scales as a whole).
WIDTH, HEIGHT = 420, 200
LEFT, RIGHT, TOP, BOTTOM = 46, 8, 10, 24
# Colour-blind-safe (Okabe-Ito), readable on the admin's light and dark backgrounds.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999")
ERROR_COLOUR = "#D55E00"


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]
    colour: str


def compact(value: float) -> str:
    """1234 -> 1.2k, 3400000 -> 3.4M (axis labels); small numbers in the active locale."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return formats.number_format(round(value / size, 1), decimal_pos=1 if value % size else 0) + suffix
    return formats.number_format(value, decimal_pos=0 if float(value).is_integer() else 1)


def _nice_max(value: float) -> float:
    """The top of the axis: four grid steps of 1, 2 or 5 times a power of ten (whole
    numbers for counts: 4 errors make an axis of 0-4, not 0-5 in steps of 1.25)."""
    if value <= 0:
        return 4.0
    quarter = value / 4
    magnitude = 10 ** math.floor(math.log10(quarter))
    for step in (1, 2, 5, 10):
        if quarter <= step * magnitude:
            return 4 * max(step * magnitude, 1)
    return 40 * magnitude


def bucket_text(start: datetime, bucket: str) -> str:
    """A bucket's start as a tooltip shows it (date and hour, or date)."""
    local = timezone.localtime(start)
    return formats.date_format(local, "SHORT_DATETIME_FORMAT" if bucket == "hour" else "SHORT_DATE_FORMAT")


def _tick_text(start: datetime, bucket: str, previous: datetime | None) -> str:
    local = timezone.localtime(start)
    if bucket == "hour" and previous is not None and timezone.localtime(previous).date() == local.date():
        return formats.date_format(local, "H:i")
    if bucket == "hour" and local.hour:
        return formats.date_format(local, "H:i")
    return formats.date_format(local, "MONTH_DAY_FORMAT")


def _frame(starts: Sequence[datetime], bucket: str, top: float) -> list[str]:
    """Grid lines, y labels and x labels."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = []
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="currentColor" '
                     f'stroke-opacity="{0.35 if i == 0 else 0.12}"/>')
        label = compact(top * i / 4)  # the unit is in the chart's title
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    n = len(starts)
    if n:
        ticks = max(1, min(n, 5))
        step = max(1, math.ceil(n / ticks))
        previous = None
        for i in range(0, n, step):
            x = LEFT + plot_w * (i + 0.5) / n
            text = _tick_text(starts[i], bucket, previous)
            previous = starts[i]
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="middle">{escape(text)}</text>')
    return parts


def _svg(parts: list[str], label: str) -> SafeString:
    body = "".join(parts)
    return mark_safe(  # every text inside was escaped above
        f'<svg class="usage-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="12" fill="currentColor">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def bars(starts: Sequence[datetime], bucket: str, series: Sequence[Series], *, label: str,
         unit: str = "") -> SafeString:
    """Stacked bars per bucket (the series in order, bottom up)."""
    n = len(starts)
    totals = [sum((s.values[i] or 0) for s in series) for i in range(n)]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(starts, bucket, top)
    width = plot_w / n if n else plot_w
    gap = min(width * 0.2, 2)
    for i, start in enumerate(starts):
        base = 0.0
        for s in series:
            value = s.values[i] or 0
            if value <= 0:
                continue
            h = plot_h * value / top
            y = TOP + plot_h - plot_h * (base + value) / top
            tip = f"{bucket_text(start, bucket)} · {s.label}: {formats.number_format(value, force_grouping=True)}"
            parts.append(f'<rect x="{LEFT + i * width + gap / 2:.2f}" y="{y:.2f}" width="{max(width - gap, 0.5):.2f}" '
                         f'height="{h:.2f}" fill="{s.colour}"><title>{escape(tip)}</title></rect>')
            base += value
    return _svg(parts, label)


def lines(starts: Sequence[datetime], bucket: str, series: Sequence[Series], *, label: str,
          unit: str = "") -> SafeString:
    """One line per series; a bucket without a value breaks the line."""
    n = len(starts)
    peak = max((v for s in series for v in s.values if v is not None), default=0)
    top = _nice_max(peak)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(starts, bucket, top)
    points: list[str] = []
    for s in series:
        segments: list[list[str]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                segments.append([])  # a gap breaks the line
                continue
            x = LEFT + plot_w * (i + 0.5) / n
            y = TOP + plot_h - plot_h * value / top
            segments[-1].append(f"{x:.1f},{y:.1f}")
            number = formats.number_format(value, force_grouping=True)
            tip = f"{bucket_text(starts[i], bucket)} · {s.label}: {number}{unit}"
            points.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{2.5 if n <= 60 else 1.5}" fill="{s.colour}">'
                          f"<title>{escape(tip)}</title></circle>")
        parts.extend(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{s.colour}" stroke-width="2" '
                     f'stroke-linejoin="round"/>' for seg in segments if len(seg) > 1)
    parts.extend(points)  # points above every line, so each tooltip can be reached
    return _svg(parts, label)


def legend(series: Sequence[Series]) -> list[dict[str, Any]]:
    """What the template lists under a chart: label and colour of each series."""
    return [{"label": s.label, "colour": s.colour} for s in series]
