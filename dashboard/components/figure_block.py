"""A chart with its data table beside it and CSV and Excel downloads under the table."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard.components.export import CSV_MIME, EXCEL_MIME, csv_exporter, excel_exporter
from dashboard.components.headers import plain_headers
from dashboard.data import grouped
from dashboard.session import PageContext


def _escape(text: str) -> str:
    """Text shown literally in Markdown (no emphasis, links or maths)."""
    return re.sub(r"([\\`*_\[\]$<>#|~])", r"\\\1", text)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "table"


def origin_suffix(context: PageContext) -> str:
    """What a download's file name says of the data: ``-SYNTHETIC``, ``-MIXED`` or nothing."""
    return {"synthetic": "-SYNTHETIC", "mixed": "-MIXED"}.get(context.origin, "")


def export_buttons(table: pl.DataFrame, name: str, context: PageContext) -> None:
    """CSV and Excel downloads of exactly the table shown (disclosure-controlled when on)."""
    stem = f"beaconport-{slug(name)}" + origin_suffix(context)
    left, right = st.columns(2)
    with left:
        st.download_button(
            "CSV",
            csv_exporter(
                table,
                synthetic=context.synthetic,
                disclosure_on=context.disclosure_on,
                mixed=context.origin == "mixed",
            ),
            file_name=f"{stem}.csv",
            mime=CSV_MIME,
            key=f"csv-{slug(name)}",
            on_click="ignore",
            icon=":material/download:",
            help="Download this table as CSV",
        )
    with right:
        st.download_button(
            "Excel",
            excel_exporter(
                table,
                synthetic=context.synthetic,
                disclosure_on=context.disclosure_on,
                sheet=name,
                mixed=context.origin == "mixed",
            ),
            file_name=f"{stem}.xlsx",
            mime=EXCEL_MIME,
            key=f"xlsx-{slug(name)}",
            on_click="ignore",
            icon=":material/download:",
            help="Download this table as an Excel workbook",
        )


#: Plotly's toolbar without lasso and box select, and without "Download plot as a png":
#: that image would carry neither the title (printed above the chart, not in it) nor
#: the SYNTHETIC or UNSUPPRESSED line every export carries. The table's CSV and Excel
#: downloads beside each chart are the exports.
CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d", "toImage"]}

#: What a table on the page shows in a cell with no value: a rate for a force with no
#: resident population, a file's reason when it was loaded, a score with nothing to
#: judge. (Streamlit's own word for it is "None".) A hidden figure is never such a
#: cell: it shows ``<5`` or ``withheld``. The downloads leave the cell empty.
MISSING_CELL = "n/a"


def chart_with_table(
    fig: go.Figure,
    table: pl.DataFrame,
    *,
    name: str,
    context: PageContext,
    caption: str | None = None,
    table_height: int | None = None,
    headers: Mapping[str, str] | bool = True,
    number_formats: Mapping[str, str] | None = None,
) -> None:
    """The chart (its title states the finding), its table beside it, and the downloads.

    The table and the downloads get plain headers (``dashboard.components.headers``;
    a mapping here overrides some of them); ``headers=False`` keeps the column names.
    ``number_formats`` gives some columns (by their name as shown) a printf format on
    the page, such as ``%.1f`` for scores; the downloads keep the numbers as they are.
    """
    table = _with_headers(table, headers)
    title = fig.layout.title.text or ""
    below = not fits_beside(table)
    if below:
        # A wide table beside the chart hid its counts behind a horizontal scroll
        # (a review found Home Office codes showing no count at all, and Learning
        # themes' long names hid the share): below it instead.
        chart_col = table_col = st.container()
    else:
        chart_col, table_col = st.columns([3, 2], gap="medium")
    with chart_col:
        if title:
            st.markdown(f"**{_escape(title)}**")
        st.plotly_chart(
            fig.update_layout(title={"text": None}),
            width="stretch",
            key=f"chart-{slug(name)}",
            config=CHART_CONFIG,
        )
        if caption:
            st.caption(caption)
    with table_col:
        shown, figures = figures_on_page(table)
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            height=table_height or min(38 + 35 * max(table.height, 1), 420),
            # Beside a chart, a label column sized for its longest value would push the
            # counts out of the narrow column; there Streamlit sizes it.
            column_config={
                **figures,
                **_pinned_label(table, full_width=below),
                **{
                    c: st.column_config.NumberColumn(format=f)
                    for c, f in (number_formats or {}).items()
                    if c in table.columns
                },
            },
            placeholder=MISSING_CELL,
        )
        export_buttons(table, name, context)


#: Tables with more columns than this go below their chart, at the page's width.
WIDE_TABLE_COLUMNS = 3
#: About as many characters as fit across the table's place beside a chart (two
#: fifths of the page on a 1,440-pixel screen: Offence types' groups table, 51, fits).
BESIDE_TABLE_CHARS = 60


def table_chars(table: pl.DataFrame) -> int:
    """How many characters wide ``table`` is: each column's header or longest value,
    whichever is longer, added up."""
    return sum(
        max(len(name), int(table[name].cast(pl.String).str.len_chars().max() or 0))
        for name in table.columns
    )


def fits_beside(table: pl.DataFrame) -> bool:
    """Whether ``table`` shows every column beside its chart without a sideways scroll."""
    return table.width <= WIDE_TABLE_COLUMNS and table_chars(table) <= BESIDE_TABLE_CHARS


#: About how many pixels a character of a table's text takes (Streamlit's 14-pixel
#: Source Sans), the cell's padding, and the widest a label column is made.
LABEL_CHAR_PX = 7
LABEL_PADDING_PX = 24
LABEL_MAX_PX = 400


def label_width(table: pl.DataFrame) -> int | None:
    """Pixels enough for the first column's header and longest value (at most
    ``LABEL_MAX_PX``), or None to leave a column of numbers or dates to Streamlit.

    Streamlit sizes a column to the rows it first draws, so "Hampshire and Isle of
    Wight Constabulary", the 11th force, was cut short in every table of forces."""
    if table.width == 0 or table.schema[table.columns[0]] != pl.String:
        return None
    first = table.columns[0]
    chars = max(len(first), int(table[first].str.len_chars().max() or 0))
    return min(chars * LABEL_CHAR_PX + LABEL_PADDING_PX, LABEL_MAX_PX)


#: A figure as a table shows it under disclosure control: a number (``1049``,
#: ``12.5``, ``1,273``), ``<5`` or ``withheld``.
FIGURE_TEXT = r"^(-?\d[\d,]*(\.\d+)?|<\d+|withheld)$"
#: Words in a column's name that make its numbers labels, not figures.
_NOT_FIGURES = {"year", "code", "id"}


def figures_on_page(table: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    """A table as the page draws it, and the column settings that go with that.

    A column of figures held as text (so that it can say ``<5`` or ``withheld``) was
    drawn as text: left-aligned, unlike the number columns beside it, and ``1049``
    where the cards print ``1,049``. Such a column (every value a figure, the first
    column excepted, as it names the rows) is aligned right, with thousands
    separators. Only the page's copy changes: the downloads keep the values as they
    are, which a spreadsheet reads as numbers."""
    columns = [
        c
        for c, dtype in list(table.schema.items())[1:]
        if dtype == pl.String
        and not _NOT_FIGURES & set(re.split(r"[^a-z]+", c.lower()))
        and table[c].drop_nulls().len() > 0
        and bool(table[c].drop_nulls().str.contains(FIGURE_TEXT).all())
    ]
    if not columns:
        return table, {}
    values = {v for c in columns for v in table[c].drop_nulls().unique().to_list()}
    long = {v: text for v in values if (text := grouped(v)) != v}
    shown = table.with_columns(pl.col(c).replace(long) for c in columns) if long else table
    return shown, {c: st.column_config.Column(alignment="right") for c in columns}


def _pinned_label(table: pl.DataFrame, *, full_width: bool = False) -> dict[str, Any]:
    """The first column (what each row is: a force, a code, a month) stays in view
    when the table scrolls sideways, and, in a table at the page's width, is wide
    enough for its longest value; whole numbers get thousands separators (1,719,029,
    as the cards print them)."""
    config: dict[str, Any] = {
        c: st.column_config.NumberColumn(format="localized")
        for c, dtype in table.schema.items()
        if dtype.is_integer() and "year" not in c.lower()
    }
    if table.width >= 2:
        config[table.columns[0]] = st.column_config.Column(
            pinned=True, width=label_width(table) if full_width else None
        )
    return config


def _label_only(table: pl.DataFrame) -> dict[str, Any]:
    """A table on its own keeps Streamlit's own formats: only its label column is
    sized (``label_width``)."""
    width = label_width(table)
    return {} if width is None else {table.columns[0]: st.column_config.Column(width=width)}


def section_tabs(labels: Sequence[str], *, key: str) -> list[Any]:
    """Tabs for a page's sections that run lazily: switching tab reruns the page, and
    only the chosen tab (``tab.open``) computes its figures and sends them to the
    browser, so a first render or a filter change draws one section, not five."""
    return list(st.tabs(list(labels), key=key, on_change="rerun"))


def _with_headers(table: pl.DataFrame, headers: Mapping[str, str] | bool) -> pl.DataFrame:
    if headers is False:
        return table
    return plain_headers(table, None if headers is True else headers)


def table_with_exports(
    table: pl.DataFrame,
    *,
    name: str,
    context: PageContext,
    headers: Mapping[str, str] | bool = True,
    shown_rows: int | None = None,
) -> None:
    """A table on its own, with the downloads (headers as for ``chart_with_table``).

    With ``shown_rows``, a longer table shows only its first ``shown_rows`` rows on the
    page, and says so; the downloads always hold every row. (Sending tens of thousands
    of rows to the browser takes seconds, and nobody reads them on screen.)
    """
    table = _with_headers(table, headers)
    if shown_rows is not None and table.height > shown_rows:
        shown, figures = figures_on_page(table.head(shown_rows))
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            column_config={**figures, **_label_only(shown)},
            placeholder=MISSING_CELL,
        )
        st.caption(
            f"The first {shown_rows:,} of {table.height:,} rows are shown. Narrow them "
            f"with the filters above, or download all {table.height:,} (CSV, Excel)."
        )
    else:
        shown, figures = figures_on_page(table)
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            column_config={**figures, **_label_only(shown)},
            placeholder=MISSING_CELL,
        )
    export_buttons(table, name, context)
