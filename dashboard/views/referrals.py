"""Referral volumes: by force and region, per 100,000 residents, a funnel plot against
the national rate, the weekly and monthly trend, and a tile-grid map of the 44 forces."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard.session import require_role

context = require_role("referrals")

from dashboard.components.charts import (  # noqa: E402
    OKABE_ITO,
    SUPPRESSED_GREY,
    bar_chart,
    base_layout,
    month_axis,
    tile_map,
    value_axis_from_zero,
)
from dashboard.components.figure_block import chart_with_table, section_tabs  # noqa: E402
from dashboard.components.filters import describe_filters  # noqa: E402
from dashboard.components.periods import (  # noqa: E402
    PARTIAL_PATTERN,
    coverage_column,
    long_date,
    partial_caption,
    short_date,
)
from dashboard.data import (  # noqa: E402
    ask,
    certain_leader,
    disclosure_config,
    frames,
    shown_table,
    sure_leader_row,
)
from metrics import reference, volumes  # noqa: E402

on = context.disclosure_on
store = frames(context)
st.title("Referral volumes")
st.caption(
    (f"As at {long_date(store.as_at)}. " if store.as_at else "")
    + describe_filters(context.filters)
    + " Rates are referrals per 100,000 residents of the force area (ONS mid-year "
    "estimates); none is given for forces with fewer than 100,000 residents or no "
    "resident population (City of London Police, British Transport Police)."
)

by_force = ask(volumes.referrals_by_force, context)
if by_force.height == 0:
    st.info("No referrals match the filters.")
    st.stop()

force_table = by_force.select("force", "region", "referrals", "per_100k")
force_shown = shown_table(
    force_table, ["referrals"], disclosure_on=on, rate_columns={"per_100k": ["referrals"]}
)
values = force_shown.values
short_names = dict(zip(reference.forces()["name"], reference.forces()["short_name"], strict=True))
populations = dict(zip(by_force["force"], by_force["population"], strict=True))


def _top(frame: pl.DataFrame, column: str) -> dict | None:
    """The force that surely has the most referrals, or the highest rate, from the
    figures as shown; None when a hidden count, or a tie, leaves it in doubt, or when
    its own figure is hidden. A rate hidden with its count of ``<5`` is at most 4 per
    the force's residents; one ``withheld`` could be any size."""
    if column == "referrals":
        leader = certain_leader(frame, "force", ["referrals_shown"])
    else:
        threshold = disclosure_config().threshold
        bounds = []
        for row in frame.iter_rows(named=True):
            rate, shown, people = row["per_100k"], row["referrals_shown"], populations[row["force"]]
            if rate is not None:
                bounds.append((row["force"], rate, rate))
            elif shown is not None and (people or 0) >= reference.MIN_POPULATION_FOR_RATE:
                per = volumes.PER / people  # the rate of one referral
                hidden = (per, (threshold - 1) * per) if shown == "<5" else (0.0, float("inf"))
                bounds.append((row["force"], *hidden))
        best = max(bounds, key=lambda b: b[1], default=None)
        sure = best is not None and all(best[1] > high for f, _, high in bounds if f != best[0])
        leader = best[0] if sure else None
    row = frame.filter(pl.col("force") == pl.lit(leader, dtype=pl.String), pl.col(column) > 0)
    return row.row(0, named=True) if row.height else None


def _with_labels(shown, columns: list[str]) -> pl.DataFrame:
    """The numbers for the chart beside what the table shows (``<5``, ``withheld``)."""
    return shown.values.with_columns(
        shown.table[c].cast(pl.String).alias(f"{c}_shown") for c in columns
    )


plot = _with_labels(force_shown, ["referrals", "per_100k"]).with_columns(
    pl.col("force").replace_strict(short_names, default=pl.col("force")).alias("short_name")
)

# Only the chosen tab's figures are computed and sent to the browser.
tabs = section_tabs(
    ["By force", "Against the national rate", "By region", "Trend"], key="referrals_tab"
)

# ----------------------------------------------------------------- by force
with tabs[0]:
    if tabs[0].open:
        st.subheader("By force")
        measure = st.radio(
            "Show",
            ["Referrals", "Per 100,000 residents"],
            horizontal=True,
            key="referrals_measure",
        )
        column = "referrals" if measure == "Referrals" else "per_100k"
        unit = "Referrals (count)" if column == "referrals" else "Referrals per 100,000 residents"
        top = _top(plot, column)
        if top is None:
            title = "Referrals by force"
        elif column == "referrals":
            title = f"{top['short_name']} referred the most files: {top['referrals']:,}"
        else:
            title = f"{top['short_name']} has the highest rate: {top['per_100k']:.1f} per 100,000"
        tab_bar, tab_map = section_tabs(["Bar chart", "Map of the 44 forces"], key="referrals_view")
        with tab_bar:
            if tab_bar.open:
                chart_with_table(
                    bar_chart(
                        plot.sort(column, "force", descending=[True, False], nulls_last=True),
                        category="short_name",
                        value=column,
                        text=f"{column}_shown",
                        title=title,
                        category_title="Force",
                        value_title=unit,
                    ),
                    force_shown.table,
                    name="referrals by force",
                    context=context,
                )
        with tab_map:
            if tab_map.open:
                chart_with_table(
                    tile_map(
                        plot.with_columns(
                            pl.when(pl.col(f"{column}_shown").is_null())
                            .then(pl.lit("n/a"))
                            .otherwise(pl.col(f"{column}_shown"))
                            .alias("label")
                        ),
                        force="force",
                        value=column,
                        label="label",
                        short_names=short_names,
                        title=title,
                        value_title="count" if column == "referrals" else "per 100k",
                    ),
                    force_shown.table,
                    name="referrals map",
                    context=context,
                    caption="Each square is a force, placed roughly where it is; darker means more. "
                    "A dash marks a force with no referrals in view; grey with <5 or n/a, a figure "
                    "not shown. British Transport Police (national) is top left.",
                )

# ----------------------------------------------------------------- funnel plot
with tabs[1]:
    if tabs[1].open:
        st.subheader("Each force against the national rate")
        funnel = ask(volumes.force_rate_funnel, context)
        funnel_table = funnel.select(
            "force", "population", "referrals", "per_100k", "national_per_100k", "position"
        )
        funnel_shown = shown_table(
            funnel_table,
            ["referrals"],
            disclosure_on=on,
            rate_columns={"per_100k": ["referrals"]},
        )
        fvals = funnel.with_columns(
            funnel_shown.values["referrals"], funnel_shown.values["per_100k"]
        ).with_columns(
            pl.when(pl.col("per_100k").is_null())
            .then(None)
            .otherwise(pl.col("position"))
            .alias("position")
        )
        if fvals.height and fvals["national_per_100k"][0] is not None:
            national = fvals["national_per_100k"][0]
            outside = fvals.filter(pl.col("position").str.starts_with("above 99.8"))
            if outside.height:
                names = ", ".join(short_names.get(f, f) for f in outside["force"].to_list()[:3])
                ftitle = (
                    f"{outside.height} of {fvals.height} forces refer well above the national "
                    f"rate of {national:.1f} per 100,000, among them {names}"
                )
            else:
                ftitle = (
                    f"No force refers far above the national rate of {national:.1f} per 100,000"
                )
            low, high = fvals["population"].min() * 0.8, fvals["population"].max() * 1.2
            curve_pop = [int(low * (high / low) ** (i / 80)) for i in range(81)]
            curves = volumes.funnel_limits(national, curve_pop)
            fig = go.Figure()
            for col_name, label, dash in (
                ("upper_99_8", "99.8% limits", "dot"),
                ("lower_99_8", None, "dot"),
                ("upper_95", "95% limits", "dash"),
                ("lower_95", None, "dash"),
            ):
                fig.add_trace(
                    go.Scatter(
                        x=curves["population"],
                        y=curves[col_name],
                        mode="lines",
                        name=label or col_name,
                        showlegend=label is not None,
                        legendgroup=col_name[-4:],
                        line={"color": "#555555", "dash": dash, "width": 1},
                        hoverinfo="skip",
                    )
                )
            fig.add_hline(
                y=national,
                line={"color": OKABE_ITO[7], "width": 1},
                annotation_text=f"national {national:.1f}",
                # At the left the limits are far from the line: the label is not crossed
                # by them, as it was at the right where they close in.
                annotation_position="top left",
            )
            symbols = {
                "within limits": ("circle", OKABE_ITO[0]),
                "above 95% limit": ("triangle-up", OKABE_ITO[1]),
                "above 99.8% limit": ("triangle-up", OKABE_ITO[5]),
                "below 95% limit": ("triangle-down", OKABE_ITO[4]),
                "below 99.8% limit": ("triangle-down", OKABE_ITO[2]),
            }
            for position, (symbol, colour) in symbols.items():
                pts = fvals.filter(pl.col("position") == position)
                if pts.height == 0:
                    continue
                fig.add_trace(
                    go.Scatter(
                        x=pts["population"],
                        y=pts["per_100k"],
                        mode="markers",
                        name=position,
                        marker={
                            "symbol": symbol,
                            "color": colour,
                            "size": 10,
                            "line": {"width": 1, "color": "#333"},
                        },
                        text=[short_names.get(f, f) for f in pts["force"]],
                        hovertemplate="%{text}: %{y:.1f} per 100,000<extra></extra>",
                    )
                )
            base_layout(
                fig,
                ftitle,
                "Residents of the force area (log scale)",
                "Referrals per 100,000 residents",
            )
            value_axis_from_zero(fig)
            ticks = [
                v
                for v in (10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)
                + (2_000_000, 5_000_000, 10_000_000)
                if low <= v <= high
            ]
            fig.update_xaxes(
                type="log", tickvals=ticks, ticktext=[f"{v:,}" for v in ticks], minor_ticks=""
            )
            # A position against the limits narrows a withheld count to one or two
            # values, so it is withheld with the count; the national rate is rounded.
            ftable = funnel_shown.table.with_columns(
                pl.when(fvals["position"].is_null() & pl.col("position").is_not_null())
                .then(pl.lit("withheld"))
                .otherwise(pl.col("position"))
                .alias("position"),
                pl.col("national_per_100k").round(1),
            )
            chart_with_table(
                fig,
                ftable,
                name="funnel plot",
                context=context,
                caption="Forces outside the dotted lines differ from the national rate by more than "
                "chance would explain (99.8%); the dashed lines are the 95% limits. Forces whose "
                "rate is withheld are not drawn. The national rate counts the residents of every "
                "force area in view, including forces that have not yet referred, so while the "
                "review is under way most referring forces sit above it.",
            )

# ----------------------------------------------------------------- by region
with tabs[2]:
    if tabs[2].open:
        st.subheader("By region")
        by_region = ask(volumes.referrals_by_region, context).select(
            "region", "referrals", "per_100k"
        )
        region_shown = shown_table(
            by_region, ["referrals"], disclosure_on=on, rate_columns={"per_100k": ["referrals"]}
        )
        rplot = region_shown.values.with_columns(
            region_shown.table["referrals"].cast(pl.String).alias("shown")
        )
        rtop = sure_leader_row(rplot, "region", ["shown"], "referrals")
        chart_with_table(
            bar_chart(
                rplot.sort("referrals", descending=True, nulls_last=True),
                category="region",
                value="referrals",
                text="shown",
                title=(
                    f"{rtop['region'][0]} referred the most files: {rtop['referrals'][0]:,}"
                    if rtop.height
                    else "Referrals by region"
                ),
                category_title="Region",
                value_title="Referrals (count)",
                colour=OKABE_ITO[2],
            ),
            region_shown.table,
            name="referrals by region",
            context=context,
        )

# ----------------------------------------------------------------- trend
with tabs[3]:
    if tabs[3].open:
        st.subheader("Trend")
        period = st.radio("Period", ["Week", "Month"], horizontal=True, key="referrals_period")
        unit = period.lower()
        periods = ask(
            volumes.referrals_by_week if period == "Week" else volumes.referrals_by_month, context
        )
        trend = periods.select("period_start", "referrals")
        trend_shown = shown_table(trend, ["referrals"], disclosure_on=on)
        covers = coverage_column(periods, unit)
        tplot = trend_shown.values.with_columns(
            trend_shown.table["referrals"].cast(pl.String).alias("shown"), covers
        )
        whole = periods["complete"].to_list()
        fig = go.Figure(
            go.Bar(
                x=tplot["period_start"],
                y=tplot["referrals"].fill_null(0),
                text=tplot["shown"],
                customdata=tplot["covers"],
                textposition="outside" if tplot.height <= 30 else "none",
                marker={
                    "color": [
                        OKABE_ITO[0] if v is not None else SUPPRESSED_GREY
                        for v in tplot["referrals"]
                    ],
                    # a period the data cover only in part is hatched, not just coloured
                    "pattern": {
                        "shape": ["" if w else PARTIAL_PATTERN for w in whole],
                        "fgcolor": "#FFFFFF",
                    },
                },
                hovertemplate="%{x}: %{text} (%{customdata})<extra></extra>",
            )
        )
        # A busiest period is claimed only when no hidden one could be busier (nor a
        # tie): a <5 could be 4, a withheld figure could be anything.
        when = certain_leader(tplot, "period_start", ["shown"])
        if when is not None:
            value, shown = (
                tplot.filter(pl.col("period_start") == when).select("referrals", "shown").row(0)
            )
            most = f"{value:,}" if value is not None else shown
            when_text = f"beginning {short_date(when)}" if period == "Week" else f"{when:%B %Y}"
            trend_title = f"Busiest {unit}: {when_text}, with {most} referrals"
        else:
            trend_title = "Referrals over time"
        base_layout(
            fig,
            trend_title,
            "Week beginning (Monday)" if period == "Week" else "Month",
            "Referrals (count)",
        )
        value_axis_from_zero(fig)
        if period == "Month":
            month_axis(fig, tplot["period_start"].to_list())
        chart_with_table(
            fig,
            trend_shown.table.with_columns(pl.col("period_start").cast(pl.String), covers),
            name=f"referrals by {unit}",
            context=context,
            caption=partial_caption(periods, unit, "hatched bar"),
        )
