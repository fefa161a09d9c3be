"""Outcomes and timeliness: the review's decisions by force, the original Home Office
outcome types, time in each stage, the backlog's age, weekly throughput, and when the
backlog would be cleared."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.session import require_role

context = require_role("outcomes")

from dashboard.components.charts import OKABE_ITO, bar_chart, line_chart, stacked_bars  # noqa: E402
from dashboard.components.figure_block import chart_with_table, section_tabs  # noqa: E402
from dashboard.components.filters import describe_filters  # noqa: E402
from dashboard.components.periods import (  # noqa: E402
    HOLLOW,
    coverage_column,
    day_span,
    long_date,
    partial_caption,
)
from dashboard.data import (  # noqa: E402
    Shown,
    ask,
    audit_shown,
    disclosure_config,
    frames,
    grouped,
    headline_shown,
    is_exact,
    shown_sum,
    shown_table,
    sure_leader_row,
    wide,
    withhold_rows,
)
from metrics import outcomes, progress, reference, volumes  # noqa: E402
from metrics.disclosure import WITHHELD, one_more_to_withhold  # noqa: E402
from metrics.frames import AWAITING_DECISION, DECISIONS  # noqa: E402

on = context.disclosure_on
store = frames(context)
st.title("Outcomes and timeliness")
st.caption(
    (f"As at {long_date(store.as_at)}. " if store.as_at else "") + describe_filters(context.filters)
)
short_names = dict(zip(reference.forces()["name"], reference.forces()["short_name"], strict=True))
DECISION_LABELS = {**reference.DECISION_LABELS, AWAITING_DECISION: "Awaiting decision"}
decision_order = [*DECISIONS, AWAITING_DECISION]

in_view = ask(volumes.referrals_by_force, context)
if in_view.height == 0:
    st.info("No referrals match the filters.")
    st.stop()
#: Time in stage, the backlog and throughput follow eligible referrals only.
NO_ELIGIBLE = "No eligible referrals match the filters."
eligible_in_view = int(in_view["eligible"].sum() or 0)

# Only the chosen tab's figures are computed and sent to the browser.
tabs = section_tabs(
    [
        "Decisions by force",
        "Original outcomes",
        "Time in each stage",
        "Backlog and forecast",
        "Weekly throughput",
    ],
    key="outcomes_tab",
)


def decisions_by_force_shown(mix: pl.DataFrame) -> Shown:
    """The decisions by force, protected together with each force's ineligible
    referrals: a force's eligible total (the table's last column) is its referrals,
    shown on other pages, less its ineligible ones, so it is protected as part of one
    table (forces by decision and ineligible, each force's referrals as row totals).
    The ineligible column is not shown; a force's total is shown only when every one of
    its decisions is."""
    refs = ask(volumes.referrals_by_force, context).select(
        "force", (pl.col("referrals") - pl.col("eligible")).alias("ineligible")
    )
    joint = (
        refs.join(mix, on="force", how="left")
        .with_columns(pl.col(decision_order).fill_null(0))
        .sort("force")
        .with_columns(pl.sum_horizontal([*decision_order, "ineligible"]).alias("total"))
    )
    j = shown_table(joint, [*decision_order, "ineligible"], disclosure_on=on, totals="both")
    keep = pl.sum_horizontal(joint.select(decision_order)) > 0
    eligible = pl.sum_horizontal(decision_order)
    values = j.values.with_columns(
        pl.when(pl.all_horizontal(pl.col(decision_order).is_not_null()))
        .then(eligible)
        .otherwise(None)
        .alias("total")
    ).drop("ineligible")
    if on:
        table = j.table.with_columns(
            pl.when(values["total"].is_not_null())
            .then(values["total"].cast(pl.String))
            .otherwise(pl.lit("withheld"))
            .alias("total")
        ).drop("ineligible")
    else:
        table = joint.with_columns(eligible.alias("total")).drop("ineligible")
    totals = {k: j.totals[k] for k in decision_order if k in j.totals}
    shown = Shown(table.filter(keep), values.filter(keep), j.hidden, totals)
    return _with_the_cards(shown, joint.filter(keep)) if on else shown


def _with_the_cards(d: Shown, joint: pl.DataFrame) -> Shown:
    """``d`` audited together with the Progress cards for the same filters
    (``headline_shown``): the forces' decisions add up to the national decisions
    and their eligible referrals to the national eligible, which the cards may print
    while this table withholds a force's total. With one force in view, the table's
    10, 10, <5 and 28 beside the cards' eligible 51 gave the <5 as 3. A force's
    decision is withheld, the smallest first, until no small count is pinned."""
    from metrics.disclosure_links import sum_between, sums_to

    truth = ask(progress.headline_figures, context)
    cards = headline_shown(truth, on)
    values: dict[str, int] = {f"national {k}": truth[k] for k in ("referrals", "eligible")}
    shown: dict[str, str | None] = {f"national {k}": cards[k] for k in ("referrals", "eligible")}
    values["national ineligible"], shown["national ineligible"] = truth["ineligible"], None
    links = [
        sums_to(["national eligible", "national ineligible"], "national referrals"),
    ]
    for k in decision_order:
        values[f"national {k}"], shown[f"national {k}"] = truth[k], cards[k]
    national = {k: d.totals[k].value if k in d.totals else None for k in DECISIONS}
    if all(v is not None for v in national.values()):  # the title quotes two sums
        decided = sum(national.values())
        reopened = national["passed_back_to_force"] + national["adopted_by_nca"]
        links.append(sum_between([f"national {k}" for k in DECISIONS], decided, decided))
        reopening = ["national passed_back_to_force", "national adopted_by_nca"]
        links.append(sum_between(reopening, reopened, reopened))
    cells = []
    printed = d.table.select("force", *decision_order).rows_by_key("force", named=True)
    for row in joint.iter_rows(named=True):
        f = row["force"]
        for k in decision_order:
            values[f"{f}|{k}"], shown[f"{f}|{k}"] = row[k], str(printed[f][0][k])
            cells.append(f"{f}|{k}")
        eligible = sum(row[k] for k in decision_order)
        values[f"{f}|eligible"], shown[f"{f}|eligible"] = eligible, None  # a sum of the cells
        links.append(sums_to([f"{f}|{k}" for k in decision_order], f"{f}|eligible"))
    forces = joint["force"].to_list()
    for k in decision_order:
        links.append(sums_to([f"{f}|{k}" for f in forces], f"national {k}"))
    links.append(sums_to([f"{f}|eligible" for f in forces], "national eligible"))
    candidates = sorted(cells, key=lambda c: values[c])
    result = audit_shown(values, shown, links, candidates)
    more = {c for c in cells if result[c] == WITHHELD != shown[c]}
    for k in decision_order:
        d = withhold_rows(d, "force", [f for f in forces if f"{f}|{k}" in more], [k])
    # A force's total is shown only when all its decisions are.
    return withhold_rows(d, "force", sorted({c.split("|")[0] for c in more}), ["total"])


def _without_sum(a: Shown) -> Shown:
    """``a`` (one count column) with its smallest non-zero shown cell withheld as well,
    when every cell is shown, so that the cells do not add up to a withheld total."""
    row = one_more_to_withhold(a.values["referrals"].to_list())
    if row is None:
        return a
    hide = pl.int_range(pl.len()) == row
    return Shown(
        a.table.with_columns(
            pl.when(hide).then(pl.lit("withheld")).otherwise(pl.col("referrals")).alias("referrals")
        ),
        a.values.with_columns(
            pl.when(hide).then(None).otherwise(pl.col("referrals")).alias("referrals")
        ),
        True,
        a.totals,
    )


# ----------------------------------------------------------------- decisions by force
with tabs[0]:
    if tabs[0].open:
        st.subheader("The review's decisions by force")
        mix = wide(
            ask(outcomes.decision_mix_by_force, context),
            index="force",
            columns="decision",
            values="referrals",
            order=decision_order,
        )
        if mix.height == 0:
            st.info(NO_ELIGIBLE)
        else:
            d = decisions_by_force_shown(mix)
            dplot = d.values.with_columns(
                pl.col("force")
                .replace_strict(short_names, default=pl.col("force"))
                .alias("short_name")
            )
            # The national figures in the title are the table's column totals as
            # protected with it: a sum of raw totals would give a withheld one away.
            national = {k: d.totals[k].value for k in DECISIONS}
            if all(v is not None for v in national.values()):
                decided = sum(national.values())
                passed = national["passed_back_to_force"] + national["adopted_by_nca"]
                dtitle = (
                    f"{passed:,} of {decided:,} decisions reopened the case"
                    if decided
                    else "No decisions yet"
                )
            else:
                dtitle = "Decisions by force (a national total is withheld)"
            chart_with_table(
                stacked_bars(
                    dplot,
                    category="short_name",
                    series=decision_order,
                    names=[DECISION_LABELS[k] for k in decision_order],
                    title=dtitle,
                    category_title="Force",
                    value_title="Eligible referrals (count)",
                ),
                d.table,
                name="decisions by force",
                context=context,
                caption="Reopened: passed back to the force or adopted by the NCA. The total column "
                "is the force's eligible referrals. A suppressed figure (<5 or withheld) draws "
                "no segment; hover over a segment, or read the table, for its value.",
            )

# ----------------------------------------------------------------- original outcomes
with tabs[1]:
    if tabs[1].open:
        st.subheader("How forces originally closed the cases")
        orig = ask(outcomes.original_outcomes, context).with_columns(
            (pl.col("share") * 100).alias("percent"),
            (
                pl.col("original_outcome")
                + ": "
                + pl.when(pl.col("label").str.len_chars() > 42)
                .then(pl.col("label").str.slice(0, 40) + "…")
                .otherwise(pl.col("label").fill_null(""))
            ).alias("outcome"),
        )
        o = shown_table(
            orig.select("original_outcome", "label", "outcome_group", "referrals", "percent"),
            ["referrals"],
            disclosure_on=on,
            totals="column",
            rate_columns={"percent": ["referrals"]},
        )
        oplot = o.values.with_columns(o.table["referrals"].alias("shown"), orig["outcome"])
        # Named only when no hidden count or tie could make another outcome the largest.
        otop = sure_leader_row(oplot, "original_outcome", ["shown"], "referrals")
        chart_with_table(
            bar_chart(
                oplot,
                category="outcome",
                value="referrals",
                text="shown",
                title=(
                    f"Most were closed as outcome {otop['original_outcome'][0]}: "
                    f"{otop['percent'][0]:.0f}% of referrals"
                    if otop.height and otop["percent"][0] is not None
                    else "Original outcome types"
                ),
                category_title="Home Office outcome type",
                value_title="Referrals (count)",
                colour=OKABE_ITO[4],
            ),
            o.table.rename({"percent": "percent_of_referrals"}),
            name="original outcomes",
            context=context,
        )

# ----------------------------------------------------------------- time in stage
with tabs[2]:
    if tabs[2].open:
        st.subheader("Time in each stage")
        if eligible_in_view == 0:
            st.info(NO_ELIGIBLE)
        else:
            STAGE_LABELS = {
                "referral_to_assessment_start": "Referral to assessment start",
                "assessment_start_to_decision": "Assessment start to decision",
                "decision_to_charge": "Decision to charge",
                "referral_to_decision": "Referral to decision",
            }
            stages = ask(outcomes.time_in_stage, context).with_columns(
                pl.col("stage").replace_strict(STAGE_LABELS, default=pl.col("stage")).alias("stage")
            )
            t = shown_table(
                stages,
                ["referrals"],
                disclosure_on=on,
                totals=None,
                rate_columns={"median_days": ["referrals"], "p90_days": ["referrals"]},
            )
            if on:
                # The referrals decided are eligible less awaiting on the Progress cards:
                # shown here only when the cards show both (as the funnel does), or the
                # count would give away a decision the cards withhold.
                cards = headline_shown(ask(progress.headline_figures, context), on)
                if not (is_exact(cards["eligible"]) and is_exact(cards["awaiting_decision"])):
                    decided_stages = ["Referral to decision", "Assessment start to decision"]
                    to_decision = pl.col("stage").is_in(decided_stages)
                    t = Shown(
                        t.table.with_columns(
                            pl.when(to_decision & pl.col("referrals").str.contains(r"^\d+$"))
                            .then(pl.lit("withheld"))
                            .otherwise(pl.col("referrals"))
                            .alias("referrals")
                        ),
                        t.values.with_columns(
                            pl.when(to_decision)
                            .then(None)
                            .otherwise(pl.col("referrals"))
                            .alias("referrals")
                        ),
                        True,
                        t.totals,
                    )
            tplot = t.values.with_columns(
                t.table["median_days"].fill_null("none yet").alias("shown")
            )
            overall = tplot.filter(pl.col("stage") == "Referral to decision")
            chart_with_table(
                bar_chart(
                    tplot,
                    category="stage",
                    value="median_days",
                    text="shown",
                    title=(
                        f"Half of decided referrals took {overall['median_days'][0]:.0f} days or less "
                        "from referral to decision"
                        if overall.height and overall["median_days"][0] is not None
                        else "Median days in each stage"
                    ),
                    category_title="Stage",
                    value_title="Median days (eligible referrals that completed the stage)",
                    colour=OKABE_ITO[0],
                ),
                t.table,
                name="time in stage",
                context=context,
                caption="Medians and 90th percentiles in days; a figure is withheld when fewer than 5 "
                "referrals completed the stage.",
            )


# ----------------------------------------------------------------- backlog age
with tabs[3]:
    if tabs[3].open:
        st.subheader("Backlog")
        if eligible_in_view == 0:
            st.info(NO_ELIGIBLE)
        else:
            age = ask(outcomes.backlog_by_age, context).select("age_band", "referrals")
            a = shown_table(age, ["referrals"], disclosure_on=on, totals="column")
            backlog_shown = grouped(
                a.totals["referrals"].display if "referrals" in a.totals else "0"
            )
            if on:
                # The backlog is the cards' "awaiting decision": when the cards withhold it,
                # so does this page, and the bands must not add up to it either.
                awaiting = headline_shown(ask(progress.headline_figures, context), on)[
                    "awaiting_decision"
                ]
                if not is_exact(awaiting):
                    backlog_shown = awaiting
                    a = _without_sum(a)
            aplot = a.values.with_columns(a.table["referrals"].alias("shown"))
            old_shown = shown_sum(
                a.values.filter(pl.col("age_band").is_in(["181-365 days", "over 365 days"]))[
                    "referrals"
                ]
            )
            chart_with_table(
                bar_chart(
                    aplot,
                    category="age_band",
                    value="referrals",
                    text="shown",
                    title=f"{backlog_shown} eligible referrals await a decision; "
                    f"{old_shown} have waited over 180 days",
                    category_title="Time since referral",
                    value_title="Eligible referrals awaiting a decision (count)",
                    colour=OKABE_ITO[1],
                    horizontal=False,
                ),
                a.table,
                name="backlog by age",
                context=context,
            )

            forecast = ask(outcomes.backlog_forecast, context)
            if forecast.backlog == 0:
                st.success("No eligible referral is waiting for a decision.")
            elif forecast.clear_by is None:
                st.warning(
                    f"No decisions were made in the last {forecast.recent_weeks} weeks, so the backlog of "
                    f"{backlog_shown} has no clearance date at the recent rate."
                )
            elif on and (
                not is_exact(backlog_shown)
                or disclosure_config().is_primary(
                    round(forecast.weekly_rate * forecast.recent_weeks)
                )
            ):
                # A clearance date is the backlog divided by the rate, and the rate is the
                # decisions counted over the weeks: with either under 5 it gives them away.
                st.info(
                    f"**Forecast withheld.** The backlog ({backlog_shown}) or the decisions of the "
                    f"last {forecast.recent_weeks} weeks are under 5, and a clearance date would "
                    "give them away.",
                    icon=":material/trending_down:",
                )
            else:
                latest = (
                    long_date(forecast.clear_latest) if forecast.clear_latest else "no end in sight"
                )
                st.info(
                    f"**Forecast.** At the rate of the last {forecast.recent_weeks} weeks "
                    f"({forecast.weekly_rate:.1f} decisions a week), today's backlog of "
                    f"{backlog_shown} would be cleared around "
                    f"**{long_date(forecast.clear_by)}** ({forecast.level:.0%} interval: "
                    f"{long_date(forecast.clear_earliest)} to {latest}). New referrals are not included.",
                    icon=":material/trending_down:",
                )


# ----------------------------------------------------------------- throughput
with tabs[4]:
    if tabs[4].open:
        st.subheader("Weekly throughput")
        if eligible_in_view == 0:
            st.info(NO_ELIGIBLE)
        else:
            weekly = ask(outcomes.weekly_throughput, context)
            if weekly.height:
                # Under disclosure control the backlog at each week's end is left out: it is
                # a running balance, so one week's change in it gives away that week's
                # eligible referrals less its decisions, small or not.
                counts = ["received", "decisions"] if on else ["received", "decisions", "backlog"]
                w = shown_table(
                    weekly.select("week_start", *counts), counts, disclosure_on=on, totals=None
                )
                recent = w.values.tail(4)
                chart_with_table(
                    line_chart(
                        w.values,
                        x="week_start",
                        ys=counts,
                        names=["Referrals received", "Decisions made", "Backlog at week end"][
                            : len(counts)
                        ],
                        title=(
                            f"{day_span(recent['week_start'][0], weekly['covered_to'][-1])}: "
                            f"{shown_sum(recent['received'])} received, "
                            f"{shown_sum(recent['decisions'])} decided"
                        ),
                        x_title="Week beginning (Monday)",
                        y_title="Referrals (count)",
                        partial=(~weekly["complete"]).to_list(),
                    ),
                    w.table.with_columns(
                        pl.col("week_start").cast(pl.String), coverage_column(weekly, "week")
                    ),
                    name="weekly throughput",
                    context=context,
                    caption=" ".join(
                        part
                        for part in (
                            partial_caption(
                                weekly.rename({"week_start": "period_start"}),
                                "week",
                                HOLLOW,
                                labels=HOLLOW,
                            ),
                            "The backlog at each week's end is not shown while disclosure control "
                            "is on: the change in it from week to week would give away small "
                            "counts. Today's backlog is on the Backlog tab."
                            if on
                            else None,
                        )
                        if part
                    )
                    or None,
                )
