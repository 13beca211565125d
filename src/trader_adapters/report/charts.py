"""Inline SVG charts: line series, bars and trade markers, scaled into a fixed box. No script needed to draw;
the HTML page adds wheel zoom and drag pan on the price chart."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["HEIGHT", "WIDTH", "bars", "line_chart"]

WIDTH, HEIGHT, PAD = 1000, 260, 40


def _scale(lo: float, hi: float, start: float, size: float, flip: bool) -> tuple[float, float]:
    span = hi - lo or 1.0
    factor = size / span
    return (start + size + lo * factor, -factor) if flip else (start - lo * factor, factor)


def _axis(y_lo: float, y_hi: float) -> str:
    labels = "".join(
        f'<text x="2" y="{PAD + (HEIGHT - 2 * PAD) * i / 4 + 4:.1f}" font-size="10">'
        f"{y_hi - (y_hi - y_lo) * i / 4:,.2f}</text>" for i in range(5))
    return (f'<rect x="{PAD}" y="{PAD}" width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}" fill="none" '
            f'stroke="#ccc"/>{labels}')


def line_chart(chart_id: str, title: str, series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
               markers: Sequence[tuple[float, float, str, str]] = ()) -> str:
    """An SVG of one or more ``(colour, [(x, y)])`` lines sharing axes, with ``(x, y, colour, tooltip)`` markers."""
    points = [p for _, line in series for p in line] + [(m[0], m[1]) for m in markers]
    if not points:
        return f'<figure id="{chart_id}" class="chart empty"><figcaption>{escape(title)}: no data</figcaption></figure>'
    x_lo, x_hi = min(p[0] for p in points), max(p[0] for p in points)
    y_lo, y_hi = min(p[1] for p in points), max(p[1] for p in points)
    x0, xf = _scale(x_lo, x_hi, PAD, WIDTH - 2 * PAD, flip=False)
    y0, yf = _scale(y_lo, y_hi, PAD, HEIGHT - 2 * PAD, flip=True)
    body = [_axis(y_lo, y_hi), '<g class="plot">']
    for colour, line in series:
        coords = " ".join(f"{x0 + x * xf:.1f},{y0 + y * yf:.1f}" for x, y in line)
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1" vector-effect="non-scaling-stroke" '
                    f'points="{coords}"/>')
    for x, y, colour, tip in markers:
        body.append(f'<circle cx="{x0 + x * xf:.1f}" cy="{y0 + y * yf:.1f}" r="3" fill="{colour}">'
                    f"<title>{escape(tip)}</title></circle>")
    body.append("</g>")
    return (f'<figure id="{chart_id}" class="chart"><figcaption>{escape(title)}</figcaption>'
            f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" xmlns="http://www.w3.org/2000/svg">'
            f'{"".join(body)}</svg></figure>')


def bars(chart_id: str, title: str, values: Sequence[tuple[str, float]]) -> str:
    """An SVG bar chart of labelled values, green above zero and red below."""
    if not values:
        return f'<figure id="{chart_id}" class="chart empty"><figcaption>{escape(title)}: no data</figcaption></figure>'
    lo, hi = min(0.0, *(v for _, v in values)), max(0.0, *(v for _, v in values))
    y0, yf = _scale(lo, hi, PAD, HEIGHT - 2 * PAD, flip=True)
    step = (WIDTH - 2 * PAD) / len(values)
    body = [_axis(lo, hi)]
    for i, (label, value) in enumerate(values):
        top, bottom = sorted((y0 + value * yf, y0))
        body.append(f'<rect x="{PAD + i * step + step * 0.1:.1f}" y="{top:.1f}" width="{step * 0.8:.1f}" '
                    f'height="{max(bottom - top, 0.5):.1f}" fill="{"#2a9d3a" if value >= 0 else "#c62828"}">'
                    f"<title>{escape(label)}: {value:,.2f}</title></rect>")
    return (f'<figure id="{chart_id}" class="chart"><figcaption>{escape(title)}</figcaption>'
            f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" xmlns="http://www.w3.org/2000/svg">'
            f'{"".join(body)}</svg></figure>')
