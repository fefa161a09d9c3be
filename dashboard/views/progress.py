"""Progress: headline figures with their change since a chosen date; then, in tabs,
cumulative referrals against time, the funnel, and the forces yet to refer. For everyone."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from dashboard.session import require_role

context = require_role("")

from dashboard.components.charts import bar_chart, line_chart, month_axis  # noqa: E402
from dashboard.components.figure_block import (  # noqa: E402
    chart_with_table,
    section_tabs,
    table_with_exports,
)
from dashboard.components.filters import describe_filters  # noqa: E402
from dashboard.components.periods import (  # noqa: E402
    HOLLOW,
    coverage_column,
    long_date,
    partial_caption,
    short_date,
)
from dashboard.data import (  # noqa: E402
    ask,
    disclosure_config,
    frames,
    grouped,
    headline_shown,
    is_exact,
)
from metrics import outcomes, progress, volumes  # noqa: E402
from metrics.disclosure import suppress_series_for_chart  # noqa: E402

store = frames(context)
st.title("Progress of the review")
as_at = store.as_at
st.caption(
    f"As at {long_date(as_at)}. {describe_filters(context.filters)}"
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
then = dict(zip(table["measure"], table["value_at_since"], strict=True))
on = context.disclosure_on
cfg = disclosure_config()


def _protected(values: dict[str, int]) -> dict[str, str]:
    return headline_shown(values, on)


def _funnel_shown(n: dict[str, int], cards: dict[str, str]) -> dict[str, str]:
    """Each funnel stage as the person may see it. The stages nest, so the gap between
    two is a count too: a stage is shown only when the cards' protected parts give it
    (eligible, and the decisions of the eligible), and charged and convicted are
    withheld when they fall short of the stage before by 1 to 4. ``n`` is each stage's
    count."""
    if not on:
        return {k: str(v) for k, v in n.items()}

    def from_parts(stage: str, parts: tuple[str, ...]) -> str:
        if all(is_exact(cards[p]) for p in parts):
            return str(n[stage])
        return cfg.primary_marker if cfg.is_primary(n[stage]) else "withheld"

    out = {
        "received": from_parts("received", ("referrals",)),
        "eligible": from_parts("eligible", ("eligible",)),
        "assessed": from_parts("assessed", ("eligible", "awaiting_decision")),
        "reopened": from_parts("reopened", ("passed_back_to_force", "adopted_by_nca")),
    }
    for before, stage in (("reopened", "charged"), ("charged", "convicted")):
        if cfg.is_primary(n[stage]):
            out[stage] = cfg.primary_marker
        elif cfg.is_primary(n[before] - n[stage]):
            out[stage] = "withheld"
        else:
            out[stage] = str(n[stage])
    return out


shown_now = _protected(now)
funnel = ask(outcomes.outcome_funnel, context)
stage_counts = dict(zip(funnel["stage"], funnel["referrals"], strict=True))
funnel_display = _funnel_shown(stage_counts, shown_now)
if now["charged"] == stage_counts["charged"]:
    shown_now["charged"] = funnel_display["charged"]  # the same figure, protected alike
shown_then = _protected(then) if since and then["referrals"] is not None else {}

CARDS = [
    ("Referrals received", shown_now["referrals"], "referrals"),
    ("Forces referring", f"{now['forces_referring']}", "forces_referring"),
    ("Involving rape", shown_now["rape_referrals"], "rape_referrals"),
    ("Eligible", shown_now["eligible"], "eligible"),
    ("Awaiting decision", shown_now["awaiting_decision"], "awaiting_decision"),
    ("Passed back to force", shown_now["passed_back_to_force"], "passed_back_to_force"),
    ("Suspect charged", shown_now["charged"], "charged"),
    ("Misconduct referrals", shown_now["misconduct_referrals"], "misconduct_referrals"),
]


def _delta(measure: str) -> str | None:
    """The change since the chosen day. Under disclosure control it is shown only when
    the figure then and now are both shown, so that neither can be worked out from the
    other and the change; a change of 1 to 4 reads "up <5"."""
    d = change.get(measure)
    if d is None or measure == "forces_referring":
        return None if d is None else f"{d:+,}"
    if not on:
        return f"{d:+,}"
    if not (is_exact(shown_now[measure]) and is_exact(shown_then.get(measure, ""))):
        return "change withheld"
    if cfg.is_primary(abs(d)):
        return f"up {cfg.primary_marker}" if d > 0 else f"down {cfg.primary_marker}"
    return f"{d:+,}"


cols = st.columns(4)
for i, (label, value, measure) in enumerate(CARDS):
    delta = _delta(measure) if since else None
    with cols[i % 4]:
        st.metric(
            label,
            value,
            delta="no change" if delta == "+0" else delta,
            delta_color="off",
            # An arrow only for a change that has a direction.
            delta_arrow="auto" if delta and delta[0] in "+-ud" and delta != "+0" else "off",
            border=True,
            help=f"Change since {short_date(since)}." if since else None,
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
                series = suppress_series_for_chart(
                    monthly.select("period_start", "referrals"),
                    "referrals",
                    cfg=disclosure_config(),
                )
                any_hidden = series["referrals_suppression"].is_not_null().any()
            else:
                series = monthly.select("period_start", "referrals").with_columns(
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
                partial=(~monthly["complete"]).to_list(),
            )
            month_axis(fig, plot["period_start"].to_list())
            table_out = series.select(
                pl.col("period_start").dt.strftime("%Y-%m").alias("month"),
                pl.col("referrals_display").alias("referrals"),
            )
            if not any_hidden:
                table_out = table_out.with_columns(
                    pl.Series("running_total", monthly["cumulative"])
                )
            table_out = table_out.with_columns(coverage_column(monthly, "month"))
            notes = [
                "The running total is withheld because some months' counts are under 5 and "
                "could be worked out from it."
                if any_hidden
                else None,
                partial_caption(monthly, "month", HOLLOW, labels=HOLLOW),
            ]
            chart_with_table(
                fig,
                table_out,
                name="referrals by month",
                context=context,
                caption=" ".join(n for n in notes if n) or None,
            )

# ----------------------------------------------------------------- funnel
with tabs[1]:
    if tabs[1].open:
        st.subheader("From referral to charge")
        if stage_counts["received"] == 0:
            st.info("No referrals match the filters.")
        else:
            fvalues = funnel.with_columns(
                pl.Series("shown", [funnel_display[k] for k in funnel["stage"]]),
            ).with_columns(
                pl.when(pl.col("shown").str.contains(r"^\d+$"))
                .then(pl.col("referrals"))
                .otherwise(None)
                .alias("referrals")
            )
            assessed, eligible = funnel_display["assessed"], funnel_display["eligible"]
            funnel_title = (
                f"{grouped(assessed)} of {grouped(eligible)} eligible referrals have a decision"
                if is_exact(assessed) and is_exact(eligible) and eligible != "0"
                else "From referral to charge"
                if eligible != "0"
                else "No eligible referrals yet"
            )
            chart_with_table(
                bar_chart(
                    fvalues,
                    category="label",
                    value="referrals",
                    text="shown",
                    title=funnel_title,
                    category_title="Stage",
                    value_title="Referrals (count)",
                ),
                fvalues.select(
                    pl.col("label").alias("stage"),
                    pl.col("shown" if on else "referrals").alias("referrals"),
                ),
                name="funnel",
                context=context,
                caption="Each stage is part of the one before it, so the gap between two stages "
                "is a count too: a stage is withheld where it would give away a gap of 1 to 4."
                if on
                else "Each stage is part of the one before it.",
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
