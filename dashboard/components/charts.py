"""Chart building blocks: an Okabe-Ito palette, plain layouts, and the tile-grid map.

Colour never carries meaning alone: bars carry their value as text, lines have
markers of different shapes, and the map's tiles show their force and value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import pairwise
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

# Every chart uses Plotly's "plotly_white" template. Set as the process default, not
# per figure: naming it in ``update_layout`` makes Plotly copy and re-validate the whole
# template for each figure (about 25 ms a chart here); the default is applied from its
# validated copy when the figure is sent. The figure's JSON is the same either way.
pio.templates.default = "plotly_white"

#: Okabe and Ito's palette, distinguishable with the common colour-vision deficiencies.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
MARKERS: tuple[str, ...] = ("circle", "square", "diamond", "triangle-up", "x", "star")
DASHES: tuple[str, ...] = ("solid", "dash", "dot", "dashdot", "longdash")
SUPPRESSED_GREY = "#BBBBBB"
#: A sequential scale readable with colour-vision deficiencies (light to dark blue).
SEQUENTIAL = [[0.0, "#E8F1FA"], [0.5, "#56B4E9"], [1.0, "#08306B"]]


def base_layout(
    fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 420
) -> go.Figure:
    """Title stating the finding (wrapped), labelled axes, legend below, no chart junk."""
    legend_rows = 1 + len([t for t in fig.data if t.showlegend is not False]) // 3
    fig.update_layout(
        # The page prints this title above the chart (where it wraps and is read out by
        # screen readers) and takes it out of the figure (figure_block.chart_with_table).
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        xaxis_title=x_title,
        yaxis_title=y_title,
        height=height,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
        colorway=list(OKABE_ITO),
        font={"size": 13},
        legend={
            "orientation": "h",
            "yanchor": "top",
            "y": -0.18 if legend_rows < 3 else -0.25,
            "xanchor": "left",
            "x": 0,
        },
        separators=".,",
    )
    return fig


def bar_chart(
    frame: pl.DataFrame,
    *,
    category: str,
    value: str,
    title: str,
    category_title: str,
    value_title: str,
    text: str | None = None,
    horizontal: bool = True,
    colour: str = OKABE_ITO[0],
) -> go.Figure:
    """One bar per category with its value printed on the bar (``text`` column if given).

    Null values (suppressed) draw no bar; their text (``<5``, ``withheld``) still shows.
    """
    cats = [str(c) for c in frame[category].to_list()]
    values = frame[value].to_list()
    labels = [_fmt_shown(t) for t in frame[text].to_list()] if text else [_fmt(v) for v in values]
    shown = [v if v is not None else 0 for v in values]
    bar = go.Bar(
        x=shown if horizontal else cats,
        y=cats if horizontal else shown,
        orientation="h" if horizontal else "v",
        text=labels,
        textposition="outside",
        cliponaxis=False,
        marker={"color": [colour if v is not None else SUPPRESSED_GREY for v in values]},
        hovertemplate="%{" + ("y" if horizontal else "x") + "}: %{text}<extra></extra>",
    )
    fig = go.Figure(bar)
    height = max(320, 24 * len(cats) + 120) if horizontal else 420
    base_layout(
        fig,
        title,
        value_title if horizontal else category_title,
        category_title if horizontal else value_title,
        height=height,
    )
    # Room beyond the longest bar for its value, printed outside the bar: without it
    # Plotly cuts the label off at the edge of the chart. Beside horizontal bars, a
    # right margin as wide as the longest label (about 8 px a character at this font
    # size); above vertical bars, headroom in the axis.
    if horizontal:
        fig.update_yaxes(autorange="reversed", automargin=True)
        longest = max((len(str(t)) for t in labels if t is not None), default=0)
        fig.update_layout(margin_r=10 + 8 * longest)
    else:
        top = max((v for v in shown if isinstance(v, int | float)), default=0)
        if top > 0 and min(shown) >= 0:
            fig.update_yaxes(range=[0, top * 1.15])
    if min(shown, default=0) >= 0:
        value_axis_from_zero(fig, horizontal)
    return fig


def value_axis_from_zero(fig: go.Figure, horizontal: bool = False) -> None:
    """A count, a number of days, a share or a rate is never negative, and a bar's or a
    line's height is read as its size: the value axis starts at 0 (the y axis, or the
    x axis of horizontal bars). With every value 0 it runs from 0 to 1, where Plotly
    would otherwise draw an axis from -1 to 1."""
    if horizontal:
        fig.update_xaxes(rangemode="tozero")
    else:
        fig.update_yaxes(rangemode="tozero")


def count_scale(z: Sequence[Sequence[float | None]]) -> dict[str, float]:
    """A heat map's colour scale for counts or shares: from 0 to the largest value (to
    1 when every value is 0 or hidden). Plotly's own scale runs from the smallest value,
    so with every cell 0 its colour bar read -0.5 to 0.5, as if counts went negative."""
    top = max((v for row in z for v in row if v is not None), default=0)
    return {"zmin": 0, "zmax": max(top, 1)}


#: Over this many calendar months or fewer, a month axis has a tick for each month.
MONTH_TICKS_UP_TO = 12


def month_axis(fig: go.Figure, months: Sequence[date]) -> None:
    """An x axis of calendar months (each point at its month's first day) labelled as
    months ("Sep 2025"). Over a year or less, Plotly puts its ticks at weeks ("Aug 31",
    "Sep 7") between two monthly points, which reads as weekly data; so up to
    ``MONTH_TICKS_UP_TO`` months there is one tick a month. Over longer spans Plotly's
    own month or year ticks stand."""
    if not months:
        return
    first, last = min(months), max(months)
    span = (last.year - first.year) * 12 + last.month - first.month + 1
    if span <= MONTH_TICKS_UP_TO:
        fig.update_xaxes(dtick="M1", tick0="2000-01-01", tickformat="%b %Y")


def period_markers(
    symbol: str, partial: Sequence[bool] | None = None, *, shown: bool = True, size: int = 7
) -> dict[str, Any]:
    """A line's markers: ``symbol`` at every point (none when not ``shown``, a long
    series), and a hollow ``symbol`` at a point whose period the data cover only in
    part (drawn even on a long series), so a low last point is not read as a fall."""
    if not partial or not any(partial):
        return {"symbol": symbol, "size": size if shown else 0}
    return {
        "symbol": [f"{symbol}-open" if p else symbol for p in partial],
        "size": [size + 2 if p else size if shown else 0 for p in partial],
        # The hollow marker's ring; a filled one keeps no outline, as on a chart with
        # no partial period (an outline drew it smaller and paler).
        "line": {"width": [2 if p else 0 for p in partial]},
    }


def line_chart(
    frame: pl.DataFrame,
    *,
    x: str,
    ys: Sequence[str],
    names: Sequence[str] | None = None,
    title: str,
    x_title: str,
    y_title: str,
    shape: str = "linear",
    partial: Sequence[bool] | None = None,
) -> go.Figure:
    """Lines with distinct markers and dashes as well as colours, on an axis from zero.

    ``partial`` (one flag a point) marks the periods the data cover only in part with a
    hollow marker (:func:`period_markers`)."""
    fig = go.Figure()
    for i, y in enumerate(ys):
        fig.add_trace(
            go.Scatter(
                x=frame[x].to_list(),
                y=frame[y].to_list(),
                name=(names or ys)[i],
                mode="lines+markers",
                line={
                    "color": OKABE_ITO[i % len(OKABE_ITO)],
                    "dash": DASHES[i % len(DASHES)],
                    "shape": shape,
                },
                marker=period_markers(MARKERS[i % len(MARKERS)], partial, shown=frame.height <= 60),
                connectgaps=False,
            )
        )
    # Every line here is a count or a score: its axis starts at zero, so the height of
    # a line is read as its size.
    value_axis_from_zero(fig)
    return base_layout(fig, title, x_title, y_title)


def stacked_bars(
    frame: pl.DataFrame,
    *,
    category: str,
    series: Sequence[str],
    names: Sequence[str] | None = None,
    title: str,
    category_title: str,
    value_title: str,
    horizontal: bool = True,
) -> go.Figure:
    """Stacked bars, each series with its own colour and pattern; each segment's value in
    its hover label and in the table beside the chart.

    The values are not printed inside the segments: across 44 forces most segments are
    too narrow for a readable number, and measuring every label was most of the time a
    browser took to draw the chart the first time (about 0.8 s of 1.9 s for Outcomes'
    decisions by force at 100,000 referrals, docs/performance.md).
    """
    patterns = ("", "/", ".", "x", "-", "\\", "+")
    cats = [str(c) for c in frame[category].to_list()]
    where, value = ("y", "x") if horizontal else ("x", "y")
    fig = go.Figure()
    for i, s in enumerate(series):
        vals = frame[s].to_list()
        fig.add_trace(
            go.Bar(
                name=(names or series)[i],
                x=vals if horizontal else cats,
                y=cats if horizontal else vals,
                orientation="h" if horizontal else "v",
                # the segment's force and value; Plotly adds the series' name beside them
                hovertemplate=f"%{{{where}}}: %{{{value}:,}}",
                marker={
                    "color": OKABE_ITO[i % len(OKABE_ITO)],
                    "pattern": {"shape": patterns[i % len(patterns)], "fillmode": "overlay"},
                },
            )
        )
    height = max(360, 24 * len(cats) + 140) if horizontal else 420
    base_layout(
        fig,
        title,
        value_title if horizontal else category_title,
        category_title if horizontal else value_title,
        height=height,
    )
    fig.update_layout(barmode="stack")
    value_axis_from_zero(fig, horizontal)
    if horizontal:
        fig.update_yaxes(autorange="reversed", automargin=True)
        # One bar per force makes a tall chart: the key goes above it, where it is seen
        # before the bars are read, not a screen further down.
        fig.update_layout(legend={"y": 1.0, "yanchor": "bottom", "traceorder": "normal"})
    return fig


def _fmt_shown(text: object) -> str:
    """A figure as a table shows it (``1122``, ``<5``, ``64.9% (442)``) as a bar's
    label: a whole number gets thousands separators, as the cards print it."""
    if isinstance(text, str) and text.isdigit():
        return f"{int(text):,}"
    return "" if text is None else str(text)


def _fmt(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


# --------------------------------------------------------------------------- tile-grid map

#: Each force's square on a grid laid out roughly by geography: (column west to east,
#: row north to south). British Transport Police polices the railways nationally and
#: sits apart in the top-left corner.
FORCE_TILES: dict[str, tuple[int, int]] = {
    "Northumbria Police": (4, 0),
    "Cumbria Constabulary": (3, 1),
    "Durham Constabulary": (4, 1),
    "Cleveland Police": (5, 1),
    "Lancashire Constabulary": (3, 2),
    "North Yorkshire Police": (4, 2),
    "Humberside Police": (5, 2),
    "Merseyside Police": (2, 3),
    "Greater Manchester Police": (3, 3),
    "West Yorkshire Police": (4, 3),
    "South Yorkshire Police": (5, 3),
    "Lincolnshire Police": (6, 3),
    "North Wales Police": (1, 4),
    "Cheshire Constabulary": (2, 4),
    "Staffordshire Police": (3, 4),
    "Derbyshire Constabulary": (4, 4),
    "Nottinghamshire Police": (5, 4),
    "Norfolk Constabulary": (7, 4),
    "Dyfed-Powys Police": (1, 5),
    "West Mercia Police": (2, 5),
    "West Midlands Police": (3, 5),
    "Leicestershire Police": (4, 5),
    "Northamptonshire Police": (5, 5),
    "Cambridgeshire Constabulary": (6, 5),
    "Suffolk Constabulary": (7, 5),
    "South Wales Police": (0, 6),
    "Gwent Police": (1, 6),
    "Gloucestershire Constabulary": (2, 6),
    "Warwickshire Police": (3, 6),
    "Thames Valley Police": (4, 6),
    "Bedfordshire Police": (5, 6),
    "Hertfordshire Constabulary": (6, 6),
    "Essex Police": (7, 6),
    "Avon and Somerset Constabulary": (2, 7),
    "Wiltshire Police": (3, 7),
    "Hampshire and Isle of Wight Constabulary": (4, 7),
    "Metropolitan Police Service": (5, 7),
    "City of London Police": (6, 7),
    "Kent Police": (7, 7),
    "Devon and Cornwall Police": (2, 8),
    "Dorset Police": (3, 8),
    "Surrey Police": (5, 8),
    "Sussex Police": (6, 8),
    "British Transport Police": (0, 0),
}


def tile_map(
    frame: pl.DataFrame,
    *,
    force: str,
    value: str,
    label: str,
    short_names: dict[str, str],
    title: str,
    value_title: str,
) -> go.Figure:
    """A square per force, placed roughly by geography, shaded by ``value`` and
    labelled with its short name and ``label`` (the value as shown, e.g. ``<5``).

    Forces missing from ``frame`` show as blank tiles with "no referrals"; a
    suppressed (null) value shows grey with its marker.
    """
    by_force = {r[force]: r for r in frame.iter_rows(named=True)}
    xs, ys, zs, texts, hovers = [], [], [], [], []
    grey_x, grey_y, grey_text = [], [], []
    for name, (col, row) in FORCE_TILES.items():
        r = by_force.get(name)
        short = short_names.get(name, name)
        wrapped = "<br>".join(_wrap(short, 11))
        shown = r[label] if r is not None else "0"
        v = r[value] if r is not None else None
        if r is not None and v is not None:
            xs.append(col)
            ys.append(row)
            zs.append(v)
            texts.append(f"{wrapped}<br><b>{shown}</b>")
            hovers.append(f"{name}: {shown}")
        else:
            grey_x.append(col)
            grey_y.append(row)
            grey_text.append(f"{wrapped}<br><b>{shown if r is not None else '–'}</b>")
            hovers.append("")
    scale_low, scale_high = _scale_range(zs)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=grey_x,
            y=grey_y,
            mode="markers+text",
            marker={
                "symbol": "square",
                "size": 62,
                "color": "#F2F2F2",
                "line": {"color": "#999999", "width": 1},
            },
            text=grey_text,
            textfont={"size": 9, "color": "#333333"},
            hoverinfo="text",
            hovertext=[t.replace("<br>", " ") for t in grey_text],
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers+text",
            marker={
                "symbol": "square",
                "size": 62,
                "color": zs,
                "colorscale": SEQUENTIAL,
                "cmin": scale_low,
                "cmax": scale_high,
                "showscale": True,
                "colorbar": {"title": {"text": value_title}, "thickness": 12},
                "line": {"color": "#555555", "width": 1},
            },
            text=texts,
            textfont={"size": 9, "color": [_ink(z, zs) for z in zs]},
            hovertext=[h for h in hovers if h],
            hoverinfo="text",
            showlegend=False,
        )
    )
    base_layout(fig, title, "", "", height=640)
    fig.update_xaxes(visible=False, range=[-0.6, 7.6], fixedrange=True)
    fig.update_yaxes(visible=False, range=[8.6, -0.6], fixedrange=True, scaleanchor="x")
    fig.add_annotation(
        x=0, y=0.6, text="national", showarrow=False, font={"size": 9, "color": "#555555"}
    )
    return fig


def _scale_range(zs: list[float]) -> tuple[float, float]:
    """The values at the two ends of a tile map's colour scale (never the same, so a
    map whose forces all have one value draws them in the scale's lightest shade)."""
    lo, hi = (min(zs), max(zs)) if zs else (0.0, 1.0)
    return (lo, hi) if hi > lo else (lo, lo + 1)


def _scale_colour(t: float, scale: list[list[Any]] = SEQUENTIAL) -> tuple[float, float, float]:
    """The RGB colour (0 to 255) at ``t`` (0 to 1) along ``scale``, interpolated in
    RGB between its stops as Plotly does."""
    t = min(max(t, 0.0), 1.0)
    for (t0, c0), (t1, c1) in pairwise(scale):
        if t <= t1:
            f = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
            a, b = _rgb(c0), _rgb(c1)
            return tuple(x + (y - x) * f for x, y in zip(a, b, strict=True))  # type: ignore[return-value]
    return _rgb(scale[-1][1])


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


def _luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2 relative luminance."""

    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


DARK_INK, LIGHT_INK = "#111111", "#FFFFFF"


def _ink(z: float, zs: list[float]) -> str:
    """The text colour, dark or white, that stands out more from the tile's shade
    (the shade is ``z``'s place between the scale's ends, not its share of the top:
    on a rates map from 2.4 to 4.7, a 2.8 is pale and took white text)."""
    lo, hi = _scale_range(zs)
    shade = _scale_colour((z - lo) / (hi - lo))
    dark = contrast(shade, _rgb(DARK_INK))
    return DARK_INK if dark >= contrast(shade, _rgb(LIGHT_INK)) else LIGHT_INK


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of about ``width`` characters, broken at spaces; a county's
    name too long for a tile breaks before its "shire" (Northampton-, shire), which
    otherwise ran over the tile's edges."""
    lines: list[str] = []
    for word in text.split():
        parts = [word]
        if len(word) > width and word.endswith("shire") and len(word) > len("shire") + 2:
            parts = [word[: -len("shire")] + "-", "shire"]
        for part in parts:
            if lines and not lines[-1].endswith("-") and len(lines[-1]) + 1 + len(part) <= width:
                lines[-1] += " " + part
            else:
                lines.append(part)
    return lines or [text]
