"""Charts drawn on the server as inline SVG: no chart library, nothing to run in the browser.

Every text that comes from the data goes through :func:`_text` (neutralised and escaped); the
charts use presentation attributes (``fill``, ``stroke``), never ``style`` attributes, which the
report's Content-Security-Policy would block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final

from markupsafe import Markup, escape

from cibscan.report._safety import neutralise

__all__ = ["bar_chart", "heatmap", "series_chart", "timeline"]

DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
INK: Final = "#1f2933"
MUTED: Final = "#7b8794"
GRID: Final = "#d9e2ec"


def _text(value: object) -> str:
    return str(escape(neutralise(str(value))))


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{_text(label)}">' + "".join(body) + "</svg>"
    )


def _parse(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def timeline(
    counts: Sequence[int], start: str | None, unit: str, *, colour: str, label: str
) -> Markup:
    """Posts per hour or day as bars, with a tick at each day (or week) boundary.

    Examples
    --------
    >>> str(timeline([1, 0, 3], "2024-03-04T00:00:00Z", "hour", colour="#000", label="t"))[:4]
    '<svg'
    """
    width, height, left, bottom, top = 760, 150, 44, 22, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    body: list[str] = []
    peak = max(counts, default=0)
    if not counts or start is None or peak == 0:
        body.append(f'<text x="{left}" y="{height / 2}" fill="{MUTED}">no posts</text>')
        return _svg(width, height, label, body)
    bar = plot_w / len(counts)
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'stroke="{GRID}"/>'
    )
    body.append(f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" class="tick">{peak}</text>')
    body.append(f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="tick">0</text>')
    origin = _parse(start)
    step = dt.timedelta(hours=1) if unit == "hour" else dt.timedelta(days=1)
    # A tick per day when hours are drawn, per week (Mondays) when days are or hours are many.
    daily_ticks = unit == "hour" and len(counts) <= 24 * 20
    for i, count in enumerate(counts):
        moment = origin + step * i
        if count:
            h = plot_h * count / peak
            body.append(
                f'<rect x="{left + i * bar:.2f}" y="{top + plot_h - h:.2f}" '
                f'width="{max(bar - 0.4, 0.6):.2f}" height="{h:.2f}" fill="{colour}">'
                f"<title>{moment:%a %d %b %H:%M} UTC: {count} posts</title></rect>"
            )
        midnight = unit == "day" or moment.hour == 0
        if midnight and (daily_ticks or moment.weekday() == 0):
            x = left + i * bar
            body.append(
                f'<line x1="{x:.2f}" y1="{top}" x2="{x:.2f}" y2="{top + plot_h}" stroke="{GRID}"/>'
            )
            body.append(
                f'<text x="{x + 2:.2f}" y="{height - 6}" class="tick">{moment:%a %d %b}</text>'
            )
    return _svg(width, height, label, body)


def heatmap(
    week: Sequence[float],
    *,
    label: str,
    colour: str = "#1d4e89",
    office: bool = True,
    working_days: Sequence[int] = (0, 1, 2, 3, 4),
) -> Markup:
    """A 7 x 24 hour-of-week grid (Monday 00:00 first); darker cells hold more posts.

    ``office`` outlines 09:00-17:30 of the ``working_days`` (Monday = 0), the working day the
    rhythm template expects, one dashed box per run of consecutive rows.
    """
    cell_w, cell_h, left, top = 24, 18, 40, 18
    width, height = left + 24 * cell_w + 8, top + 7 * cell_h + 8
    body: list[str] = []
    peak = max(week, default=0) or 1
    for hour in range(0, 24, 3):
        body.append(
            f'<text x="{left + hour * cell_w + 2}" y="{top - 5}" class="tick">{hour:02d}:00</text>'
        )
    for day in range(7):
        y = top + day * cell_h
        body.append(
            f'<text x="{left - 6}" y="{y + cell_h - 5}" text-anchor="end" class="tick">'
            f"{DAYS[day]}</text>"
        )
        for hour in range(24):
            value = float(week[day * 24 + hour]) if day * 24 + hour < len(week) else 0.0
            opacity = 0.04 + 0.96 * (value / peak) if value else 0.0
            body.append(
                f'<rect x="{left + hour * cell_w}" y="{y}" width="{cell_w - 1}" '
                f'height="{cell_h - 1}" fill="{colour if value else "#f0f4f8"}" '
                f'fill-opacity="{opacity if value else 1:.3f}">'
                f"<title>{DAYS[day]} {hour:02d}:00: {_num(value)} posts</title></rect>"
            )
    if office:
        rows = sorted(set(working_days))
        runs: list[list[int]] = []
        for day in rows:
            if runs and runs[-1][-1] == day - 1:
                runs[-1].append(day)
            else:
                runs.append([day])
        for run in runs:
            body.append(
                f'<rect class="working-days" x="{left + 9 * cell_w - 0.5}" '
                f'y="{top + run[0] * cell_h - 0.5}" width="{8.5 * cell_w}" '
                f'height="{len(run) * cell_h}" fill="none" stroke="{INK}" '
                'stroke-dasharray="4 3"/>'
            )
    return _svg(width, height, label, body)


def bar_chart(
    rows: Sequence[tuple[str, float, float | None]],
    *,
    label: str,
    colour: str,
    compare_colour: str = "#bcccdc",
    unit: str = "",
    max_value: float | None = None,
) -> Markup:
    """Horizontal bars, one per row ``(label, value, comparison)``.

    The comparison (e.g. the network's share of a hashtag's accounts next to its share of the
    top results) is drawn as a thin bar under the main one.
    """
    row_h, left, right = 24, 190, 70
    width = 640
    height = row_h * len(rows) + 8
    plot_w = width - left - right
    top_value = max_value or max([max(v, c or 0) for _, v, c in rows] or [1.0]) or 1.0
    body: list[str] = []
    for i, (name, value, compare) in enumerate(rows):
        y = 4 + i * row_h
        shown = name if len(name) <= 28 else name[:27] + "…"
        body.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" class="label">'
            f"{_text(shown)}<title>{_text(name)}</title></text>"
        )
        w = plot_w * max(value, 0) / top_value
        body.append(f'<rect x="{left}" y="{y + 2}" width="{w:.2f}" height="12" fill="{colour}"/>')
        if compare is not None:
            cw = plot_w * max(compare, 0) / top_value
            body.append(
                f'<rect x="{left}" y="{y + 16}" width="{cw:.2f}" height="4" '
                f'fill="{compare_colour}"/>'
            )
        body.append(
            f'<text x="{left + w + 4:.2f}" y="{y + 13}" class="tick">{_num(value)}{unit}</text>'
        )
    return _svg(width, height, label, body)


def series_chart(
    points: Sequence[tuple[str, float]], *, label: str, colour: str, baseline: float | None
) -> Markup:
    """A share over time (0-100%) as a step line, with an optional dashed baseline."""
    width, height, left, bottom, top = 640, 110, 40, 20, 8
    plot_w, plot_h = width - left - 8, height - bottom - top
    body: list[str] = [
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" class="tick">100%</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="tick">0</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        f'stroke="{GRID}"/>',
    ]
    if not points:
        return _svg(width, height, label, body)
    times = [_parse(t).timestamp() for t, _ in points]
    t0, t1 = min(times), max(times)
    span = (t1 - t0) or 1.0
    coords = [
        (left + plot_w * (t - t0) / span, top + plot_h * (1 - min(max(v, 0.0), 1.0)))
        for t, (_, v) in zip(times, points, strict=True)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
    for (x, y), (when, value) in zip(coords, points, strict=True):
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}">'
            f"<title>{_text(when)}: {value:.0%}</title></circle>"
        )
    if baseline is not None:
        y = top + plot_h * (1 - min(max(baseline, 0.0), 1.0))
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{MUTED}" stroke-dasharray="4 3"/>'
        )
    body.append(f'<text x="{left}" y="{height - 5}" class="tick">{_text(points[0][0][:16])}</text>')
    body.append(
        f'<text x="{left + plot_w}" y="{height - 5}" text-anchor="end" class="tick">'
        f"{_text(points[-1][0][:16])}</text>"
    )
    return _svg(width, height, label, body)
