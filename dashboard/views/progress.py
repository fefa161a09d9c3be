"""Progress: headline figures with their change since a chosen date; then, in tabs,
cumulative referrals against time, the funnel, and the forces yet to refer. For everyone."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from dashboard.session import require_role

context = require_role("")

from dashboard.components.charts import bar_chart, line_chart  # noqa: E402
from dashboard.components.figure_block import (  # noqa: E402
    chart_with_table,
    section_tabs,
    table_with_exports,
)
from dashboard.components.filters import describe_filters  # noqa: E402
from dashboard.data import ask, frames, shown_count, shown_parts, shown_table  # noqa: E402
from metrics import outcomes, progress, volumes  # noqa: E402
from metrics.disclosure import suppress_series_for_chart  # noqa: E402

store = frames(context)
st.title("Progress of the review")
as_at = store.as_at
st.caption(
    f"As at {as_at:%d %B %Y}. {describe_filters(context.filters)}"
    if as_at
    else "No data have been loaded yet."
)

# ----------------------------------------------------------------- headline cards
default_since = (as_at - timedelta(days=28)) if as_at else None
since = st.date_input(
    "Show change since",
    value=default_since,
    max_value=as_at,
    format="DD/MM/YYYY",
    key="progress_since",
    help="The cards show how much each figure has grown since the end of this day.",
)
table = ask(progress.headline_progress, context, since=since or None)
now = dict(zip(table["measure"], table["value"], strict=True))
change = dict(zip(table["measure"], table["change"], strict=True))
on = context.disclosure_on

split = shown_parts(
    {"eligible": now["eligible"], "ineligible": now["ineligible"]}, now["referrals"], on
)
decisions = shown_parts(
    {
        k: now[k]
        for k in ("nfa_upheld", "passed_back_to_force", "adopted_by_nca", "awaiting_decision")
    },
    now["eligible"],
    on,
)
CARDS = [
    ("Referrals received", split["__total__"], "referrals"),
    ("Forces referring", f"{now['forces_referring']}", "forces_referring"),
    ("Involving rape", shown_count(now["rape_referrals"], on), "rape_referrals"),
    ("Eligible", split["eligible"], "eligible"),
    ("Awaiting decision", decisions["awaiting_decision"], "awaiting_decision"),
    ("Passed back to force", decisions["passed_back_to_force"], "passed_back_to_force"),
    ("Suspect charged", shown_count(now["charged"], on), "charged"),
    ("Misconduct referrals", shown_count(now["misconduct_referrals"], on), "misconduct_referrals"),
]


def _delta(measure: str) -> str | None:
    d = change.get(measure)
    if d is None or measure == "forces_referring":
        return None if d is None else f"{d:+,}"
    if on and 0 < abs(d) < 5:
        return "up <5" if d > 0 else "down <5"
    return f"{d:+,}"


cols = st.columns(4)
for i, (label, value, measure) in enumerate(CARDS):
    with cols[i % 4]:
        st.metric(
            label,
            value,
            delta=_delta(measure) if since else None,
            delta_color="off",
            border=True,
            help=f"Change since {since:%d %b %Y}." if since else None,
        )

# Only the chosen tab's figures are computed and sent to the browser.
tabs = section_tabs(
    ["Referrals over time", "From referral to charge", "Forces yet to refer"],
    key="progress_tab",
)

# ----------------------------------------------------------------- cumulative referrals
with tabs[0]:
    if tabs[0].open:
        st.subheader("Referrals received over time")
        monthly = ask(volumes.referrals_by_month, context)
        if monthly.height == 0:
            st.info("No referrals match the filters.")
        else:
            if on:
                series = suppress_series_for_chart(monthly.drop("cumulative"), "referrals")
                any_hidden = series["referrals_suppression"].is_not_null().any()
            else:
                series = monthly.drop("cumulative").with_columns(
                    pl.col("referrals").cast(pl.String).alias("referrals_display")
                )
                any_hidden = False
            total = monthly["cumulative"][-1]
            plot = series.select("period_start", "referrals").with_columns(
                pl.Series("cumulative", monthly["cumulative"])
                if not any_hidden
                else pl.lit(None, pl.Int64).alias("cumulative")
            )
            if any_hidden:
                title = "Monthly referrals (some months under 5 are not shown)"
                ys, names = ["referrals"], ["Referrals in the month"]
            else:
                title = f"{total:,} referrals received by {monthly['period_start'][-1]:%B %Y}"
                ys, names = ["cumulative", "referrals"], ["Running total", "Referrals in the month"]
            fig = line_chart(
                plot,
                x="period_start",
                ys=ys,
                names=names,
                title=title,
                x_title="Month referred",
                y_title="Referrals (count)",
            )
            table_out = series.select(
                pl.col("period_start").dt.strftime("%Y-%m").alias("month"),
                pl.col("referrals_display").alias("referrals"),
            )
            if not any_hidden:
                table_out = table_out.with_columns(
                    pl.Series("running_total", monthly["cumulative"])
                )
            chart_with_table(
                fig,
                table_out,
                name="referrals by month",
                context=context,
                caption=(
                    "The running total is withheld because some months' counts are under 5 and "
                    "could be worked out from it."
                    if any_hidden
                    else None
                ),
            )

# ----------------------------------------------------------------- funnel
with tabs[1]:
    if tabs[1].open:
        st.subheader("From referral to charge")
        funnel = ask(outcomes.outcome_funnel, context)
        funnel_shown = shown_table(funnel, ["referrals"], disclosure_on=on, totals=None)
        assessed = funnel.filter(pl.col("stage") == "assessed")["referrals"][0]
        eligible = funnel.filter(pl.col("stage") == "eligible")["referrals"][0]
        funnel_title = (
            f"{shown_count(assessed, on)} of {shown_count(eligible, on)} eligible referrals have a decision"
            if eligible
            else "No eligible referrals yet"
        )
        chart_with_table(
            bar_chart(
                funnel_shown.values.with_columns(funnel_shown.table["referrals"].alias("shown")),
                category="label",
                value="referrals",
                text="shown",
                title=funnel_title,
                category_title="Stage",
                value_title="Referrals (count)",
            ),
            funnel_shown.table.select("label", "referrals").rename({"label": "stage"}),
            name="funnel",
            context=context,
            caption="Each stage is part of the one before it.",
        )

# ----------------------------------------------------------------- forces yet to refer
with tabs[2]:
    if tabs[2].open:
        st.subheader("Forces yet to refer")
        by_force = ask(volumes.referrals_by_force, context, include_all_forces=True)
        waiting = by_force.filter(pl.col("referrals") == 0).select("force", "region")
        in_scope = by_force.height
        if waiting.height == 0:
            st.success(f"Every force in view ({in_scope}) has referred at least one case file.")
        else:
            st.markdown(
                f"**{waiting.height} of {in_scope} forces** in view have not referred any case file yet."
            )
            table_with_exports(waiting, name="forces yet to refer", context=context)
