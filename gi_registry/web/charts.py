"""Charts as inline SVG drawn on the server: no script, no CDN, and every number written out so print shows it.

Only presentation attributes, no `style`: the content security policy allows no inline styles. Every label is
escaped; callers pass plain strings (translated already).
"""

from datetime import date

from flask import has_request_context
from flask_babel import get_locale
from markupsafe import Markup, escape

INK = "#000"
MUTED = "#5f6b7a"
RULE = "#d9dee5"
BAR = "#a0521a"  # the brand colour of app.css
VERDICT_COLOURS = {"genuine": "#1a7f37", "warning": "#9c5d00", "revoked": "#c62828", "invalid": "#4a5361"}
FONT = 13
VALUE_FONT = 11  # the values written on a line


def text_width(text: str, size: float = FONT) -> float:
    """A rough rendered width: CJK and full-width glyphs take about 1 em, the rest about 0.6 em."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def _fit(text: str, width: float) -> str:
    """The text, cut with an ellipsis so that it fits the width."""
    if text_width(text) <= width + 0.01:  # widths are sums of floats: an exact fit may come out a hair over
        return text
    while text and text_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def number(value: int) -> str:
    return f"{value:,}"


def share(value: int, total: int) -> str:
    """A part of the total in whole percent; a part that rounds to 0% or 100% but is neither says so, as a
    single warning among hundreds of scans must not read as none."""
    percent = f"{value / total:.0%}"
    if 0 < value < total and percent in ("0%", "100%"):
        return "<1%" if percent == "0%" else ">99%"
    return percent


def _chinese() -> bool:
    """Whether the page is Chinese, whose colon and semicolon are full-width; a chart drawn outside a
    request (a test of the drawing) takes the English ones."""
    return has_request_context() and str(get_locale()) == "zh"


def _named(label: str, value) -> str:
    """A label and its value, in a title a pointer shows and the description a screen reader reads."""
    return f"{label}{'：' if _chinese() else ': '}{value}"


def _listed(entries) -> str:
    return ("；" if _chinese() else "; ").join(entries)


def _svg(body: str, *, title: str, summary: str, width: float, height: float) -> Markup:
    label = _named(title, summary) if summary else title
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}"'
        f' viewBox="0 0 {width:g} {height:g}" width="{width:g}" height="{height:g}"'
        f' font-family="sans-serif" font-size="{FONT}" fill="{INK}">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _text(x: float, y: float, content: str, *, anchor: str = "start", **attributes) -> str:
    extra = "".join(f' {name.replace("_", "-")}="{escape(value)}"' for name, value in attributes.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(content)}</text>'


def _empty(*, title: str, empty: str, width: int) -> Markup:
    return _svg(_text(0, 20, empty, fill=MUTED), title=title, summary=empty, width=width, height=30)


def bar_chart(
    items: list[tuple[str, int]],
    *,
    title: str,
    width: int = 640,
    bar_height: int = 22,
    colour: str = BAR,
    empty: str = "—",
) -> Markup:
    """Horizontal bars: the label on the left, the bar, and its value written after it."""
    if not items:
        return _empty(title=title, empty=empty, width=width)
    gap = 6
    label_width = min(max(text_width(label) for label, _ in items) + 10, width * 0.4)
    value_width = max(text_width(number(value)) for _, value in items) + 10
    track = max(width - label_width - value_width, 10)
    top = max(value for _, value in items) or 1
    rows = []
    for i, (label, value) in enumerate(items):
        y = i * (bar_height + gap) + gap / 2
        middle = y + bar_height / 2
        length = value / top * track if value else 0
        rows.append(
            f"<g><title>{escape(_named(label, number(value)))}</title>"
            + _text(label_width - 8, middle, _fit(label, label_width - 10), anchor="end", dy="0.35em")
            + f'<rect x="{label_width:.1f}" y="{y:.1f}" width="{max(length, 1 if value else 0):.1f}"'
            f' height="{bar_height}" fill="{escape(colour)}"/>'
            + _text(label_width + length + 5, middle, number(value), dy="0.35em", font_weight="bold")
            + "</g>"
        )
    axis = f'<line x1="{label_width:.1f}" y1="0" x2="{label_width:.1f}" y2="{len(items) * (bar_height + gap)}"'
    axis += f' stroke="{MUTED}"/>'
    summary = _listed(_named(label, number(value)) for label, value in items)
    return _svg("".join(rows) + axis, title=title, summary=summary, width=width, height=len(items) * (bar_height + gap))


def _tick_indices(count: int, *, every_day_fits: bool, ticks: int = 5) -> list[int]:
    """The days named under the axis: each one while their dates fit side by side (a week, a fortnight),
    else five spread over the range, as a week named on five of its days leaves two out, unevenly."""
    if count <= 1 or every_day_fits:
        return list(range(count))
    ticks = min(ticks, count)
    return sorted({round(k * (count - 1) / (ticks - 1)) for k in range(ticks)})


def _written_values(values: list[int], x) -> list[tuple[int, str]]:
    """(point, text anchor) of the values written on a line: each day's that has one, while no two of them
    touch (a month of thousands of scans a day has five-character values 30 px apart); else, as on a long
    range, only the highest. The first runs from its point and the last up to it, so neither crosses the
    axis's numbers or the chart's edge."""
    last = len(values) - 1

    def anchor(i: int) -> str:
        return "start" if i == 0 and last else "end" if i == last and last else "middle"

    def span(i: int) -> tuple[float, float]:
        width = text_width(number(values[i]), VALUE_FONT)
        start = x(i) - {"start": 0, "middle": width / 2, "end": width}[anchor(i)]
        return start, start + width

    every = [i for i, value in enumerate(values) if value]
    spans = [span(i) for i in every]
    apart = all(left[1] + 2 <= right[0] for left, right in zip(spans, spans[1:], strict=False))
    written = every if len(values) <= 31 and apart else [values.index(max(values))]
    return [(i, anchor(i)) for i in written]


def line_chart(
    points: list[tuple[date, int]], *, title: str, width: int = 640, height: int = 200, empty: str = "—"
) -> Markup:
    """A line over days: a few date ticks, the axis from 0 to the largest value, and values written on the line."""
    if not points:
        return _empty(title=title, empty=empty, width=width)
    values = [value for _, value in points]
    top = max(values) or 1
    left, right, above, below = text_width(number(top)) + 14, 16, 20, 26
    plot_width, plot_height = width - left - right, height - above - below
    step = plot_width / (len(points) - 1) if len(points) > 1 else 0

    def x(i: int) -> float:
        return left + i * step if len(points) > 1 else left + plot_width / 2

    def y(value: int) -> float:
        return above + plot_height * (1 - value / top)

    base = above + plot_height
    parts = [
        f'<line x1="{left:.1f}" y1="{base:.1f}" x2="{width - right}" y2="{base:.1f}" stroke="{MUTED}"/>',
        f'<line x1="{left:.1f}" y1="{above}" x2="{left:.1f}" y2="{base:.1f}" stroke="{MUTED}"/>',
        _text(left - 6, base, "0", anchor="end", dy="0.35em"),
    ]
    if max(values):  # a rule at the largest value, written on the axis
        parts.append(f'<line x1="{left:.1f}" y1="{above}" x2="{width - right}" y2="{above}" stroke="{RULE}"/>')
        parts.append(_text(left - 6, above, number(top), anchor="end", dy="0.35em"))
    one_year = points[0][0].year == points[-1][0].year
    date_format = "%m-%d" if one_year else "%Y-%m-%d"
    widest_date = text_width(points[0][0].strftime(date_format))
    # The first date runs from its point and the last up to it: beside a centred neighbour, one and a half widths.
    ticks = _tick_indices(len(points), every_day_fits=step >= widest_date * 1.5 + 8)
    for i in ticks:
        day = points[i][0]
        anchor = "start" if i == 0 and len(points) > 1 else "end" if i == len(points) - 1 else "middle"
        parts.append(f'<line x1="{x(i):.1f}" y1="{base:.1f}" x2="{x(i):.1f}" y2="{base + 4:.1f}" stroke="{MUTED}"/>')
        parts.append(_text(x(i), base + 18, day.strftime(date_format), anchor=anchor))
    line = " ".join(f"{x(i):.1f},{y(value):.1f}" for i, value in enumerate(values))
    parts.append(f'<polyline points="{line}" fill="none" stroke="{BAR}" stroke-width="2"/>')
    if len(points) <= 62:
        parts += [f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{BAR}"/>' for i, v in enumerate(values)]
    for i, anchor in _written_values(values, x):
        parts.append(_text(x(i), y(values[i]) - 7, number(values[i]), anchor=anchor, font_size=str(VALUE_FONT)))
    summary = _listed(_named(day.isoformat(), number(value)) for day, value in points if value)
    return _svg("".join(parts), title=title, summary=summary or "0", width=width, height=height)


def stacked_bar(
    parts: list[tuple[str, int, str]], *, title: str, width: int = 640, bar_height: int = 28, empty: str = "—"
) -> Markup:
    """One bar split into (label, value, colour) parts, with a legend that writes out each value and share."""
    total = sum(value for _, value, _ in parts)
    if not parts:
        return _empty(title=title, empty=empty, width=width)
    shapes, offset = [], 0.0
    for label, value, colour in parts:
        if not value:
            continue
        length = value / total * width
        shapes.append(
            f'<rect x="{offset:.1f}" y="0" width="{length:.1f}" height="{bar_height}" fill="{escape(colour)}">'
            f"<title>{escape(_named(label, number(value)))}</title></rect>"
        )
        percent = share(value, total)
        if length >= text_width(percent) + 8:
            shapes.append(
                _text(
                    offset + length / 2,
                    bar_height / 2,
                    percent,
                    anchor="middle",
                    dy="0.35em",
                    fill="#fff",
                    font_weight="bold",
                )
            )
        offset += length
    if not total:
        shapes.append(f'<rect x="0" y="0" width="{width}" height="{bar_height}" fill="none" stroke="{RULE}"/>')
    legend, x, y = [], 0.0, bar_height + 22
    for label, value, colour in parts:
        entry = f"{label} {number(value)}" + (f" ({share(value, total)})" if total else "")
        entry_width = 18 + text_width(entry) + 18
        if x and x + entry_width > width:
            x, y = 0.0, y + 22
        legend.append(
            f'<rect x="{x:.1f}" y="{y - 11:.1f}" width="12" height="12" fill="{escape(colour)}"/>'
            + _text(x + 18, y, entry)
        )
        x += entry_width
    summary = _listed(_named(label, number(value)) for label, value, _ in parts)
    return _svg("".join(shapes + legend), title=title, summary=summary, width=width, height=y + 8)
