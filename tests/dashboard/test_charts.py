"""The chart building blocks: what each figure carries to the browser (its JSON), on small
hand-made frames."""

from __future__ import annotations

import json
from datetime import date

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
import pytest

from dashboard.components.charts import (
    DASHES,
    MARKERS,
    OKABE_ITO,
    SUPPRESSED_GREY,
    bar_chart,
    line_chart,
    month_axis,
    stacked_bars,
)

pytestmark = pytest.mark.unit

FRAME = pl.DataFrame(
    {"force": ["Kent Police", "Essex Police", "Durham Constabulary"], "referrals": [12, None, 1234]}
)


def sent(fig) -> dict:
    """The figure as Streamlit sends it (``plotly.io.to_json``)."""
    return json.loads(pio.to_json(fig, validate=False))


def force_bars(frame: pl.DataFrame = FRAME, **options) -> dict:
    """``bar_chart`` of referrals by force, as sent."""
    return sent(
        bar_chart(
            frame,
            **{
                "category": "force",
                "value": "referrals",
                "title": "t",
                "category_title": "Force",
                "value_title": "Referrals (count)",
                **options,
            },
        )
    )


def test_every_chart_carries_the_white_template_and_the_palette() -> None:
    # The template is the process's default, not named per figure: the JSON sent must
    # still hold the whole of Plotly's own "plotly_white".
    named = go.Figure(layout={"template": "plotly_white"})
    white = sent(named)["layout"]["template"]
    assert white["layout"]["plot_bgcolor"] == "white"
    for spec in (
        force_bars(),
        sent(
            line_chart(
                pl.DataFrame({"m": [1, 2], "a": [1, 3]}),
                x="m",
                ys=["a"],
                title="t",
                x_title="Month",
                y_title="Referrals (count)",
            )
        ),
        sent(
            stacked_bars(
                FRAME.with_columns(pl.col("referrals").fill_null(0)),
                category="force",
                series=["referrals"],
                title="t",
                category_title="Force",
                value_title="Referrals (count)",
            )
        ),
    ):
        layout = spec["layout"]
        assert layout["template"] == white
        assert layout["colorway"] == list(OKABE_ITO)


def test_bar_chart_draws_suppressed_values_as_grey_labelled_gaps() -> None:
    spec = force_bars(title="Most referrals came from Durham")
    (bar,) = spec["data"]
    assert bar["orientation"] == "h"
    assert bar["y"] == ["Kent Police", "Essex Police", "Durham Constabulary"]
    assert bar["x"] == [12, 0, 1234]  # the suppressed value draws no bar
    assert bar["text"] == ["12", "", "1,234"]
    assert bar["marker"]["color"] == [OKABE_ITO[0], SUPPRESSED_GREY, OKABE_ITO[0]]
    layout = spec["layout"]
    assert layout["title"]["text"] == "Most referrals came from Durham"
    assert layout["xaxis"]["title"]["text"] == "Referrals (count)"
    assert layout["yaxis"]["title"]["text"] == "Force"
    assert layout["yaxis"]["autorange"] == "reversed"  # first category on top
    assert layout["height"] == max(320, 24 * 3 + 120)
    # room on the right for the longest label ("1,234"), printed beyond its bar
    assert layout["margin"]["r"] == 10 + 8 * len("1,234")


def test_vertical_bar_chart_leaves_room_above_the_tallest_bar() -> None:
    spec = sent(
        bar_chart(
            pl.DataFrame({"year": [2019, 2020], "n": [40, 8]}),
            category="year",
            value="n",
            horizontal=False,
            title="t",
            category_title="Crime year",
            value_title="Referrals (count)",
        )
    )
    (bar,) = spec["data"]
    assert bar["x"] == ["2019", "2020"] and bar["y"] == [40, 8]
    assert spec["layout"]["yaxis"]["range"] == [0, pytest.approx(46.0)]
    assert "range" not in spec["layout"]["xaxis"]


@pytest.mark.parametrize("horizontal", [True, False])
def test_a_chart_of_zeros_has_its_value_axis_from_zero(horizontal: bool) -> None:
    """Plotly draws an axis from -1 to 1 when every bar is 0 (a backlog all decided):
    a count's axis starts at 0 instead, in plain and stacked bars alike."""
    zeros = pl.DataFrame({"band": ["0-30 days", "31-90 days"], "n": [0, 0], "m": [0, 0]})
    axis = "xaxis" if horizontal else "yaxis"
    common = {"category": "band", "title": "t", "category_title": "c", "value_title": "v"}
    plain = sent(bar_chart(zeros, value="n", horizontal=horizontal, **common))
    stacked = sent(stacked_bars(zeros, series=["n", "m"], horizontal=horizontal, **common))
    for spec in (plain, stacked):
        assert spec["layout"][axis]["rangemode"] == "tozero"
        other = "yaxis" if horizontal else "xaxis"
        assert "rangemode" not in spec["layout"][other]


def test_bar_chart_leaves_negative_values_an_axis_below_zero() -> None:
    """A value axis is held at zero only when no value is negative."""
    spec = sent(
        bar_chart(
            pl.DataFrame({"c": ["a", "b"], "n": [-3, 5]}),
            category="c",
            value="n",
            title="t",
            category_title="c",
            value_title="v",
        )
    )
    assert "rangemode" not in spec["layout"]["xaxis"]


def test_bar_chart_prints_the_given_text_column() -> None:
    frame = FRAME.with_columns(pl.Series("shown", ["12", "<5", "1234"]))
    (bar,) = force_bars(frame, text="shown")["data"]
    assert bar["text"] == ["12", "<5", "1,234"]  # separators, as the cards print it


def test_bar_chart_leaves_room_for_long_labels() -> None:
    frame = FRAME.with_columns(pl.Series("shown", ["64.9% (442)", "<5", "1.0% (7)"]))
    layout = force_bars(frame, text="shown", value_title="Share (%)")["layout"]
    assert layout["margin"]["r"] == 10 + 8 * len("64.9% (442)")


def test_line_chart_tells_lines_apart_by_dash_and_marker_as_well_as_colour() -> None:
    frame = pl.DataFrame({"m": [1, 2, 3], "a": [1, 2, 3], "b": [3, 2, 1]})
    spec = sent(
        line_chart(
            frame,
            x="m",
            ys=["a", "b"],
            names=["Running total", "In the month"],
            title="t",
            x_title="Month",
            y_title="Referrals (count)",
        )
    )
    a, b = spec["data"]
    assert (a["name"], b["name"]) == ("Running total", "In the month")
    assert a["y"] == [1, 2, 3] and b["y"] == [3, 2, 1]
    assert (a["line"]["color"], b["line"]["color"]) == OKABE_ITO[:2]
    assert (a["line"]["dash"], b["line"]["dash"]) == DASHES[:2]
    assert (a["marker"]["symbol"], b["marker"]["symbol"]) == MARKERS[:2]
    assert a["mode"] == "lines+markers" and a["marker"]["size"] == 7  # few points: shown
    assert spec["layout"]["yaxis"]["rangemode"] == "tozero"  # 1 to 3 drawn from 0


def test_stacked_bars_tell_series_apart_and_give_values_on_hover_not_inside() -> None:
    frame = pl.DataFrame({"force": ["Kent", "Essex"], "upheld": [3, None], "passed_back": [7, 12]})
    spec = sent(
        stacked_bars(
            frame,
            category="force",
            series=["upheld", "passed_back"],
            names=["NFA upheld", "Passed back"],
            title="t",
            category_title="Force",
            value_title="Eligible referrals (count)",
        )
    )
    upheld, passed = spec["data"]
    assert (upheld["name"], passed["name"]) == ("NFA upheld", "Passed back")
    assert upheld["y"] == ["Kent", "Essex"] and upheld["x"] == [3, None]  # suppressed: no bar
    assert passed["x"] == [7, 12]
    assert (upheld["marker"]["color"], passed["marker"]["color"]) == OKABE_ITO[:2]
    assert upheld["marker"]["pattern"]["shape"] != passed["marker"]["pattern"]["shape"]
    # no value printed inside a segment; the hover names the force and the value
    assert "text" not in upheld and "text" not in passed
    assert upheld["hovertemplate"] == "%{y}: %{x:,}"
    assert spec["layout"]["barmode"] == "stack"
    assert spec["layout"]["yaxis"]["autorange"] == "reversed"
    # the key above the bars (one bar a force makes a tall chart), in stacking order
    legend = spec["layout"]["legend"]
    assert (legend["y"], legend["yanchor"], legend["traceorder"]) == (1.0, "bottom", "normal")


def test_vertical_stacked_bars_hover_on_the_value_axis() -> None:
    frame = pl.DataFrame({"year": [2019, 2020], "a": [1, 2], "b": [3, 4]})
    spec = sent(
        stacked_bars(
            frame,
            category="year",
            series=["a", "b"],
            horizontal=False,
            title="t",
            category_title="Crime year",
            value_title="Referrals (count)",
        )
    )
    first, _ = spec["data"]
    assert first["x"] == ["2019", "2020"] and first["y"] == [1, 2]
    assert first["hovertemplate"] == "%{x}: %{y:,}"


def test_a_table_goes_beside_its_chart_only_when_every_column_fits() -> None:
    """Widths counted by hand: each column's header or longest value, added up."""
    from dashboard.components.figure_block import BESIDE_TABLE_CHARS, fits_beside, table_chars

    groups = pl.DataFrame(  # Offence types' groups table, as the page shows it
        {
            "Offence group": ["Rape", "Other contact sexual offence"],  # 28
            "Referrals": [236, 1092],  # header 9
            "% of referrals": [18.5, 85.8],  # header 14
        }
    )
    assert table_chars(groups) == 28 + 9 + 14
    assert fits_beside(groups)
    themes = pl.DataFrame(  # Learning themes' table: the share was out of sight
        {
            "Theme": ["Victim account not taken to best practice"],  # 41
            "Assessed referrals with theme": ["466"],  # 29
            "% of assessed referrals": [64.5],  # 23
        }
    )
    assert table_chars(themes) == 41 + 29 + 23 > BESIDE_TABLE_CHARS
    assert not fits_beside(themes)
    # a fourth column always goes below, however narrow; an empty table by its headers
    assert not fits_beside(pl.DataFrame({"a": [1], "b": [2], "c": [3], "d": [4]}))
    empty = pl.DataFrame(schema={"Month": pl.String, "Referrals": pl.Int64})
    assert table_chars(empty) == 5 + 9 and fits_beside(empty)


def test_label_width_fits_the_longest_label_or_stops_at_the_maximum() -> None:
    from dashboard.components.figure_block import label_width

    forces = pl.DataFrame(
        {"Force": ["Kent Police", "Hampshire and Isle of Wight Constabulary"], "Referrals": [3, 4]}
    )
    assert label_width(forces) == 40 * 7 + 24  # the longer name: 40 characters
    # a header longer than every value
    assert label_width(pl.DataFrame({"Home Office code": ["8P", "19C"]})) == 16 * 7 + 24
    assert label_width(pl.DataFrame({"Theme": ["x" * 100]})) == 400
    # numbers and dates are left to Streamlit
    assert label_width(pl.DataFrame({"id": [1, 2]})) is None
    assert label_width(pl.DataFrame()) is None


def test_tile_names_wrap_at_spaces_and_long_counties_before_shire() -> None:
    from dashboard.components.charts import _wrap

    assert _wrap("Avon and Somerset", 11) == ["Avon and", "Somerset"]
    assert _wrap("Northamptonshire", 11) == ["Northampton-", "shire"]
    assert _wrap("Gloucestershire", 11) == ["Gloucester-", "shire"]
    # short enough to stand on one line: left whole
    assert _wrap("Derbyshire", 11) == ["Derbyshire"]
    assert _wrap("North Yorkshire", 11) == ["North", "Yorkshire"]
    assert _wrap("London, City of", 11) == ["London,", "City of"]
    assert _wrap("", 11) == [""]


def test_tile_text_takes_the_ink_that_stands_out_from_its_shade() -> None:
    from dashboard.components.charts import SEQUENTIAL, _ink, _rgb, contrast

    # WCAG's own examples: black on white 21:1, a colour against itself 1:1
    assert contrast(_rgb("#000000"), _rgb("#FFFFFF")) == pytest.approx(21)
    assert contrast(_rgb("#56B4E9"), _rgb("#56B4E9")) == pytest.approx(1)
    # a rates map from 2.4 to 4.7: 2.8 is near the pale end, so dark text (it took
    # white, 2.8 being 60% of the top); the top is the scale's darkest blue
    rates = [2.4, 2.8, 3.6, 4.7]
    assert _ink(2.8, rates) == "#111111"
    assert _ink(2.4, rates) == "#111111"
    assert _ink(4.7, rates) == "#FFFFFF"
    # the middle stop, sky blue: dark text reads better on it than white
    mid = _rgb(SEQUENTIAL[1][1])
    assert contrast(mid, _rgb("#111111")) > contrast(mid, _rgb("#FFFFFF"))
    assert _ink(3.55, rates) == "#111111"
    # one value everywhere: the palest shade, dark text
    assert _ink(5, [5, 5]) == "#111111"


def test_tile_map_colour_scale_runs_from_the_lowest_to_the_highest_value() -> None:
    from dashboard.components.charts import tile_map

    frame = pl.DataFrame(
        {
            "force": ["Kent Police", "Essex Police", "Surrey Police"],
            "rate": [2.4, 2.8, 4.7],
            "label": ["2.4", "2.8", "4.7"],
        }
    )
    fig = tile_map(
        frame,
        force="force",
        value="rate",
        label="label",
        short_names={},
        title="t",
        value_title="per 100k",
    )
    shaded = fig.data[1]
    assert (shaded.marker.cmin, shaded.marker.cmax) == (2.4, 4.7)
    inks = dict(zip(shaded.marker.color, shaded.textfont.color, strict=True))
    assert inks == {2.4: "#111111", 2.8: "#111111", 4.7: "#FFFFFF"}


def _months(first: date, count: int) -> list[date]:
    return [
        date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
        for i in range(count)
    ]


def _month_axis_of(months: list[date]) -> dict:
    """The x axis sent to the browser for a line chart by month with ``month_axis``."""
    fig = line_chart(
        pl.DataFrame({"m": months, "n": list(range(len(months)))}),
        x="m",
        ys=["n"],
        title="t",
        x_title="Month",
        y_title="Referrals (count)",
    )
    month_axis(fig, months)
    return sent(fig)["layout"]["xaxis"]


def test_a_short_month_axis_has_a_tick_each_month_named_as_a_month() -> None:
    """Two months (Sep and Oct 2025) drew ticks at Aug 31, Sep 7, ... Sep 28, which read
    as weekly data; up to 12 months there is one tick a month, labelled "Sep 2025"."""
    assert _months(date(2025, 11, 1), 3) == [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1)]
    for months in (_months(date(2025, 9, 1), 2), _months(date(2025, 1, 1), 12), [date(2025, 9, 1)]):
        axis = _month_axis_of(months)
        assert (axis["dtick"], axis["tickformat"]) == ("M1", "%b %Y"), len(months)
        assert axis["tick0"].startswith("2000-01-01")  # ticks on the first of the month


def test_a_long_month_axis_keeps_plotlys_own_ticks() -> None:
    """Thirteen months or more (the whole review period is 15 years): Plotly's month
    or year ticks stand; one tick a month would crowd them."""
    axis = _month_axis_of(_months(date(2024, 10, 1), 13))
    assert "dtick" not in axis and "tickformat" not in axis


def test_count_scale_runs_from_zero_to_the_largest_cell() -> None:
    from dashboard.components.charts import count_scale

    assert count_scale([[3, 7], [None, 2]]) == {"zmin": 0, "zmax": 7}
    assert count_scale([[0, None], [0, 0]]) == {"zmin": 0, "zmax": 1}
    assert count_scale([[None]]) == {"zmin": 0, "zmax": 1}
    assert count_scale([[0.5, 62.5]]) == {"zmin": 0, "zmax": 62.5}


def test_a_partial_period_has_a_hollow_marker_even_on_a_long_line() -> None:
    from dashboard.components.charts import period_markers

    assert period_markers("square") == {"symbol": "square", "size": 7}
    assert period_markers("square", [False, False], shown=False) == {"symbol": "square", "size": 0}
    marks = period_markers("square", [False, True])
    assert marks["symbol"] == ["square", "square-open"]
    assert marks["size"] == [7, 9]
    # a filled point is drawn as on a chart with no partial period: no outline
    assert marks["line"]["width"][0] == 0 < marks["line"]["width"][1]
    # 61 weeks: no markers but the partial last week's
    n = 61
    frame = pl.DataFrame({"w": list(range(n)), "a": [5] * n})
    flags = [False] * (n - 1) + [True]
    (line,) = sent(
        line_chart(frame, x="w", ys=["a"], title="t", x_title="Week", y_title="n", partial=flags)
    )["data"]
    assert line["marker"]["size"] == [0] * (n - 1) + [9]
    assert line["marker"]["symbol"][-1] == "circle-open"


def test_figures_held_as_text_are_aligned_right_with_separators_on_the_page_only() -> None:
    """A column of shown figures (numbers, <5, withheld) is text so it can say <5; the
    page draws it like a number column: right-aligned, 1049 as 1,049. Not the first
    column (it names the rows), not a year, a code or an id, and not a column with
    any other text."""
    from dashboard.components.figure_block import figures_on_page

    table = pl.DataFrame(
        {
            "force": ["Kent", "Essex", "Surrey"],
            "referrals": ["1049", "<5", "withheld"],
            "percent": ["12345.5", "0.4", None],
            "outcome_code": ["15", "14", "1"],
            "crime_year": ["2015", "2016", "2017"],
            "note": ["1", "two", "3"],
            "decided": ["1234", "<5", "7"],
            "residents": ["-1234", "5", "6"],
            "total": [1049, 3, 12],
        }
    )
    shown, config = figures_on_page(table)
    # "decided" and "residents" hold "id" inside a word: figures all the same
    assert sorted(config) == ["decided", "percent", "referrals", "residents"]
    assert shown["decided"].to_list() == ["1,234", "<5", "7"]
    assert shown["residents"].to_list() == ["-1,234", "5", "6"]
    assert all(c["alignment"] == "right" for c in config.values())
    assert shown["referrals"].to_list() == ["1,049", "<5", "withheld"]
    assert shown["percent"].to_list() == ["12,345.5", "0.4", None]
    # everything else as it was, and the frame given (the downloads' copy) untouched
    figures = ["referrals", "percent", "decided", "residents"]
    assert shown.drop(figures).equals(table.drop(figures))
    assert table["referrals"].to_list() == ["1049", "<5", "withheld"]
    numbers_only = table.select("force", "total")
    same, none = figures_on_page(numbers_only)
    assert same.equals(numbers_only) and none == {}
