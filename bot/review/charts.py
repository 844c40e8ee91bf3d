"""Charts as server-rendered inline SVG: no JavaScript, no build step, readable by screen readers.

Each chart carries a <title> and an aria-label, and the dashboard prints the same figures as a table
beside it, so nothing is shown only as a picture. Colours come from CSS classes (``series-0`` ...), so the
style sheet decides them and they survive a high-contrast theme.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

SERIES_COUNT = 8  # the style sheet defines series-0 .. series-7; more series share "series-other"


def _series_class(index: int) -> str:
    return f"series-{index}" if index < SERIES_COUNT - 1 else "series-other"


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** (len(str(int(value))) - 1)
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * magnitude:
            return step * magnitude
    return 10.0 * magnitude


def stacked_bars(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    width: int = 640,
    height: int = 240,
) -> str:
    """Vertical bars per category (e.g. a day), each stacked by series (e.g. channel), with a legend."""
    left, right, top, bottom = 36, 8, 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for _, values in series) for i in range(len(categories))]
    ceiling = _nice_ceiling(max(totals, default=0))
    parts: list[str] = []
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot_h - fraction * plot_h
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>')
        tick = f"{ceiling * fraction:g}"
        parts.append(f'<text class="axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    if categories:
        slot = plot_w / len(categories)
        bar_w = max(2.0, slot * 0.7)
        label_every = max(1, round(len(categories) / 8))
        for i, category in enumerate(categories):
            x = left + i * slot + (slot - bar_w) / 2
            y = top + plot_h
            for index, (name, values) in enumerate(series):
                value = values[i]
                if value <= 0:
                    continue
                h = value / ceiling * plot_h
                y -= h
                parts.append(
                    f'<rect class="{_series_class(index)}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                    f'height="{h:.1f}"><title>{escape(category)} · {escape(name)}: {value:g}</title></rect>'
                )
            if i % label_every == 0:
                parts.append(
                    f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{height - bottom + 14}" '
                    f'text-anchor="middle">{escape(category)}</text>'
                )
    else:
        parts.append(f'<text class="axis" x="{left + 8}" y="{top + plot_h / 2}">No data yet</text>')
    # The legend wraps onto more rows rather than running off the right edge; the chart grows to fit.
    legend_x, row = left, 0
    for index, (name, _) in enumerate(series):
        item_w = 24 + 7 * len(name)
        if legend_x + item_w > width and legend_x > left:
            legend_x, row = left, row + 1
        y = top + plot_h + 24 + row * 16
        parts.append(
            f'<rect class="{_series_class(index)}" x="{legend_x}" y="{y}" width="10" height="10"/>'
            f'<text class="legend" x="{legend_x + 14}" y="{y + 9}">{escape(name)}</text>'
        )
        legend_x += item_w
    return _svg(title, width, height + row * 16, parts)


def horizontal_bars(
    title: str, rows: Sequence[tuple[str, float]], *, width: int = 640, unit: str = ""
) -> str:
    """One bar per row (e.g. open requests per age bracket), labelled with its value."""
    label_w, row_h, top = 150, 24, 6
    height = top * 2 + row_h * max(1, len(rows))
    plot_w = width - label_w - 60
    ceiling = _nice_ceiling(max((value for _, value in rows), default=0))
    parts: list[str] = []
    if not rows:
        parts.append(f'<text class="axis" x="8" y="{top + 16}">No data yet</text>')
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        w = value / ceiling * plot_w
        parts.append(
            f'<text class="axis" x="{label_w - 6}" y="{y + 16}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="{_series_class(0)}" x="{label_w}" y="{y + 4}" width="{w:.1f}" '
            f'height="{row_h - 8}">'
            f"<title>{escape(label)}: {value:g}{escape(unit)}</title></rect>"
            f'<text class="value" x="{label_w + w + 4:.1f}" y="{y + 16}">{value:g}{escape(unit)}</text>'
        )
    return _svg(title, width, height, parts)


def share_meter(title: str, share: float | None, *, width: int = 300, height: int = 44) -> str:
    """A single horizontal meter for a share between 0 and 1 (e.g. filed without a person)."""
    parts = [f'<rect class="meter-track" x="0" y="8" width="{width}" height="18" rx="4"/>']
    if share is not None:
        parts.append(
            f'<rect class="{_series_class(0)}" x="0" y="8" width="{width * share:.1f}" height="18" rx="4"/>'
        )
    text = "no data yet" if share is None else f"{share:.0%}"
    parts.append(f'<text class="value" x="0" y="{height - 2}">{text}</text>')
    return _svg(title, width, height, parts)


def _svg(title: str, width: int, height: int, parts: list[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )
