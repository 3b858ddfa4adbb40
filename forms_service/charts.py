"""Bar charts as inline SVG, drawn on the server: no script, readable by screen readers
(each chart has a title and the same figures as a table beside it)."""

import hashlib
from collections.abc import Iterable, Iterator, Sequence

from markupsafe import Markup

# Contrast against white: 6.3:1 and 3.9:1. A bluish green and a vermilion (Okabe–Ito)
# stay apart for readers with red–green colour blindness.
COLOURS = ("#0b6e4f", "#d55e00")
INK = "#1f1f1f"
CHAR = 7.0  # a digit's width at font-size 11 in the widest usual system font (DejaVu Sans)
FONT = "system-ui, 'Segoe UI', Tahoma, Arial, sans-serif"  # the reader's own fonts: none fetched
# A bar's value (None: no bar), and a series: (label, one value or a group of them) per bar.
Value = float | None
Series = Iterable[tuple[object, Value | Sequence[Value]]]


def bar_chart(
    series: Series,
    *,
    title: object,
    width: int = 640,
    height: int = 240,
    legend: Sequence[object] = (),
    max_value: float | None = None,
    chart_id: str | None = None,
    scale: Sequence[float] = (),
) -> Markup:
    """A bar chart as inline SVG: `series` is [(label, value)] or [(label, (v1, v2, …))].

    Grouped values are named by `legend`, in order. A value of None draws no bar and reads "—".
    `scale`: values marked on the vertical axis with a faint line each (a rating's 1 to 5).
    Every label is escaped, translated (lazy) strings included: they are turned into str first.
    """
    groups = [(str(label), v if isinstance(v, list | tuple) else (v,)) for label, v in series]
    title = str(title)
    chart_id = chart_id or "chart-" + hashlib.sha256(title.encode()).hexdigest()[:8]
    top = 20 + (22 if legend else 0)
    reach = max((len(label) for label, _ in groups), default=0) * CHAR
    margin = 22.0 if scale else 8.0  # room for the scale's numbers
    slot = (width - margin - 8) / max(len(groups), 1)
    turned = reach > slot  # labels that do not fit under their bars are turned 45°
    start = max(margin, reach * 0.71 - slot / 2 + 4) if turned else margin
    slot = (width - start - 8) / max(len(groups), 1)
    plot = height - top - (reach * 0.71 + 16 if turned else 28)
    peak = max_value or max((v for _, vs in groups for v in vs if v is not None), default=0) or 1
    # The time axis runs left to right in both languages: Arabic readers of charts read dates
    # that way too, so the direction is fixed here and not inherited from an RTL page.
    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="{}"'
            ' viewBox="0 0 {} {}" width="{}" height="{}" direction="ltr" font-family="{}"'
            ' font-size="11" fill="{}">'
        ).format(chart_id, width, height, width, height, FONT, INK),
        Markup('<title id="{}">{}</title>').format(chart_id, title),
        *_legend(legend),
        Markup('<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#595959"/>').format(
            _n(start), _n(top + plot), width - 8
        ),
    ]
    for mark in scale:
        y = top + plot - plot * min(mark, peak) / peak
        parts.append(
            Markup(
                '<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#d0d7d4"/>'
                '<text x="{3}" y="{4}" text-anchor="end">{5}</text>'
            ).format(_n(start), _n(y), width - 8, _n(start - 4), _n(y + 4), _value(mark))
        )
    for index, (label, values) in enumerate(groups):
        left = start + index * slot
        parts += _bars(values, left + slot * 0.1, slot * 0.8 / len(values), top, plot, peak)
        parts.append(_axis_label(label, left + slot / 2, top + plot + 14, turned))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _legend(names: Iterable[object]) -> Iterator[Markup]:
    for index, name in enumerate(names):
        x = 8 + index * 140
        yield Markup('<rect x="{}" y="6" width="12" height="12" fill="{}"/>').format(
            x, COLOURS[index % len(COLOURS)]
        )
        yield Markup('<text x="{}" y="16">{}</text>').format(x + 18, str(name))


def _bars(
    values: Sequence[Value], left: float, bar: float, top: float, plot: float, peak: float
) -> Iterator[Markup]:
    for index, value in enumerate(values):
        x = left + index * bar
        high = 0 if value is None else plot * min(value, peak) / peak
        if high:
            yield Markup('<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>').format(
                _n(x + 1), _n(top + plot - high), _n(bar - 2), _n(high), COLOURS[index % 2]
            )
        yield Markup('<text x="{}" y="{}" text-anchor="middle">{}</text>').format(
            _n(x + bar / 2), _n(top + plot - high - 4), _value(value)
        )


def _axis_label(label: str, x: float, y: float, turned: bool) -> Markup:
    if turned:
        return Markup(
            '<text x="{0}" y="{1}" text-anchor="end" transform="rotate(-45 {0} {1})">{2}</text>'
        ).format(_n(x), _n(y - 4), label)
    return Markup('<text x="{}" y="{}" text-anchor="middle">{}</text>').format(_n(x), _n(y), label)


def _n(number: float) -> str:
    return f"{number:.1f}".removesuffix(".0")


def _value(value: Value) -> str:
    if value is None:
        return "—"
    return str(value) if isinstance(value, int) else f"{value:.1f}"
