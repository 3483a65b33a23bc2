"""The dashboard's charts, drawn on the server as SVG (no chart library, no CDN, no script).

Each chart is an `<svg role="img">` with a `<title>` and a `<desc>` saying what it shows; the exact
figures are in the table beside it, so nothing is only in a picture. Text from a URL (campaign names)
is escaped like any other text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

from fanapp.campaigns import Figures

STEP_LABELS = {
    "visits": "Visits",
    "starts": "Started",
    "imports": "Imported",
    "published": "Published",
    "share_views": "Share views",
    "embed_views": "Embed views",
    "image_views": "Image views",
    "saves": "Saved",
    "duets": "Duets",
}
# The show's palette (all pass AA on the dashboard's card); campaigns past the fifth reuse them.
COLOURS = ("#ff4fa3", "#35d6ff", "#ffd166", "#9be564", "#c7a6ff")


def funnel(name: str, steps: dict[str, int], order: Sequence[str]) -> Markup:
    """One campaign's funnel: a horizontal bar per step, its length the step's share of the largest."""
    row, label_w, width = 30, 150, 520
    top = max([steps.get(s, 0) for s in order] + [1])
    parts = []
    for i, step in enumerate(order):
        n = steps.get(step, 0)
        y = i * row
        length = round((width - label_w - 60) * n / top)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 20}" text-anchor="end" class="chart-label">'
            f"{escape(STEP_LABELS.get(step, step))}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{length}" height="{row - 8}" rx="4" class="chart-bar"/>'
            f'<text x="{label_w + length + 6}" y="{y + 20}" class="chart-value">{n}</text>'
        )
    height = row * len(order)
    summary = ", ".join(f"{STEP_LABELS.get(s, s)} {steps.get(s, 0)}" for s in order)
    # Safe: every text in it went through `escape`; the rest is numbers and fixed markup.
    return Markup(  # noqa: S704
        f'<svg class="chart chart-funnel" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Funnel of {escape(name)}: {escape(summary)}">{"".join(parts)}</svg>'
    )


def daily(found: Figures, step: str, names: Sequence[str]) -> Markup:
    """One step per day for each campaign, as lines over the date range (a legend below)."""
    days = found.days()
    width, height, pad = 560, 180, 28
    top = max([found.by_day.get((d, n), {}).get(step, 0) for d in days for n in names] + [1])

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / max(1, len(days) - 1))

    def y(v: int) -> float:
        return height - pad - (height - 2 * pad) * v / top

    lines, legend = [], []
    for k, name in enumerate(names[: len(COLOURS)]):
        colour = COLOURS[k]
        points = " ".join(
            f"{x(i):.1f},{y(found.by_day.get((d, name), {}).get(step, 0)):.1f}" for i, d in enumerate(days)
        )
        lines.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        legend.append(
            f'<rect x="{pad + k * 110}" y="{height - 10}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{pad + k * 110 + 14}" y="{height - 1}" class="chart-label">{escape(name[:14])}</text>'
        )
    axis = (
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" class="chart-axis"/>'
        f'<text x="{pad}" y="{height - pad + 14}" class="chart-label">{_short(days[0])}</text>'
        f'<text x="{width - pad}" y="{height - pad + 14}" text-anchor="end" class="chart-label">'
        f"{_short(days[-1])}</text>"
        f'<text x="{pad}" y="{pad - 8}" class="chart-label">{top}</text>'
    )
    label = STEP_LABELS.get(step, step)
    # Safe: every text in it went through `escape`; the rest is numbers and fixed markup.
    return Markup(  # noqa: S704
        f'<svg class="chart chart-daily" viewBox="0 0 {width} {height + 6}" role="img" '
        f'aria-label="{escape(label)} per day, by campaign">{axis}{"".join(lines)}{"".join(legend)}</svg>'
    )


def _short(day: date) -> str:
    return day.strftime("%-d %b")
