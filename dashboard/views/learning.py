"""Learning themes: how often each theme is found, by force and by month, which themes
occur together, and themes in cases passed back compared with those upheld."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard.session import require_role

context = require_role("learning")

from dashboard.components.charts import (  # noqa: E402
    DASHES,
    MARKERS,
    OKABE_ITO,
    SEQUENTIAL,
    bar_chart,
    base_layout,
    count_scale,
    month_axis,
    period_markers,
    value_axis_from_zero,
)
from dashboard.components.figure_block import chart_with_table, section_tabs  # noqa: E402
from dashboard.components.filters import describe_filters  # noqa: E402
from dashboard.components.periods import (  # noqa: E402
    HOLLOW,
    coverage_column,
    day_month,
    long_date,
    partial_caption,
)
from dashboard.data import (  # noqa: E402
    ask,
    certain_leader,
    decision_gap_title,
    frames,
    grouped,
    shown_long,
    shown_table,
)
from metrics import reference, themes  # noqa: E402
from metrics.disclosure import WITHHELD  # noqa: E402
from metrics.frames import DECISIONS  # noqa: E402

on = context.disclosure_on
store = frames(context)
st.title("Learning themes")
st.caption(
    (f"As at {long_date(store.as_at)}. " if store.as_at else "")
    + describe_filters(context.filters)
    + " Shares are of assessed referrals (eligible, with a decision): a theme is recorded "
    "when a case is assessed. A referral counts once per theme."
)
labels = reference.theme_labels()
short_names = dict(zip(reference.forces()["name"], reference.forces()["short_name"], strict=True))
#: In these tables "label" is a learning theme's name.
THEME_HEADERS = {"label": "Theme"}


def percent_shown(disclosure_on: bool) -> pl.Expr:
    """A long table's share as its table shows it: ``withheld`` where the count it is
    built on is hidden (a bare empty cell would not say why)."""
    percent = pl.col("percent").round(1)
    if disclosure_on:
        percent = (
            pl.when(pl.col("suppression").is_not_null())
            .then(pl.lit(WITHHELD))
            .otherwise(percent.cast(pl.String))
        )
    return percent.alias("percent_of_assessed")


share = ask(themes.theme_share, context).with_columns((pl.col("share") * 100).alias("percent"))
assessed_total = int(share["assessed"][0]) if share.height else 0
if assessed_total == 0:
    st.info("No assessed referrals match the filters, so no theme can have been found yet.")
    st.stop()
theme_order = themes.theme_codes()

# Only the chosen tab's figures are computed and sent to the browser.
tabs = section_tabs(
    ["How often each theme", "By force", "By month", "Found together", "Passed back or upheld"],
    key="learning_tab",
)

# ----------------------------------------------------------------- prevalence
with tabs[0]:
    if tabs[0].open:
        st.subheader("How often each theme is found")
        s = shown_table(
            share.select("label", "referrals", "percent"),
            ["referrals"],
            disclosure_on=on,
            totals=None,
            rate_columns={"percent": ["referrals"]},
        )
        splot = s.values.with_columns(
            pl.concat_str(
                [
                    s.table["percent"].fill_null("withheld"),
                    pl.lit("% ("),
                    s.table["referrals"],
                    pl.lit(")"),
                ]
            ).alias("shown")
        )
        # Named only when no hidden count (<5, withheld) could be larger; every share
        # has the same denominator, so the largest count is the largest share.
        leader = certain_leader(s.table, "label", ["referrals"])
        top = splot.filter(pl.col("label") == leader)
        if leader is None:
            stitle = "Learning themes found in assessed referrals"
        elif top["percent"][0] is None:
            stitle = f"{leader} is the theme found most often"
        else:
            stitle = f"{leader}: found in {top['percent'][0]:.0f}% of assessed referrals"
        chart_with_table(
            bar_chart(
                splot.sort("percent", descending=True, nulls_last=True),
                category="label",
                value="percent",
                text="shown",
                title=stitle,
                category_title="Learning theme",
                value_title="Share of assessed referrals (%)",
            ),
            s.table.rename(
                {"referrals": "assessed_referrals_with_theme", "percent": "percent_of_assessed"}
            ),
            name="learning themes",
            context=context,
            headers=THEME_HEADERS,
        )

# ----------------------------------------------------------------- by force
with tabs[1]:
    if tabs[1].open:
        st.subheader("By force")
        by_force = shown_long(
            ask(themes.theme_share_by_force, context),
            row_key="force",
            column_key="theme",
            count_column="referrals",
            disclosure_on=on,
            rate_columns=["share"],
        )
        heat = by_force.with_columns((pl.col("share") * 100).alias("percent"))
        forces_in = sorted(heat["force"].unique().to_list())
        z, text = [], []
        for force in forces_in:
            rows = {
                r["theme"]: r for r in heat.filter(pl.col("force") == force).iter_rows(named=True)
            }
            z.append([rows[t]["percent"] if t in rows else None for t in theme_order])
            text.append(
                [
                    (
                        f"{rows[t]['percent']:.0f}%"
                        if rows[t]["percent"] is not None
                        else rows[t]["display"]
                    )
                    if t in rows
                    else ""
                    for t in theme_order
                ]
            )
        fig = go.Figure(
            go.Heatmap(
                z=z,
                x=[labels[t] for t in theme_order],
                y=[short_names.get(f, f) for f in forces_in],
                text=text,
                texttemplate="%{text}",
                colorscale=SEQUENTIAL,
                **count_scale(z),
                colorbar={"title": {"text": "% assessed"}},
                hovertemplate="%{y}, %{x}: %{text}<extra></extra>",
                xgap=2,
                ygap=2,
            )
        )
        # The theme each force surely finds most (no hidden count could change it).
        leaders = {
            f: certain_leader(heat.filter(pl.col("force") == f), "theme", ["display"])
            for f in forces_in
        }
        counted = pl.Series([t for t in leaders.values() if t is not None], dtype=pl.String)
        if counted.len():
            top, n_top = counted.value_counts(sort=True).row(0)
            ftitle = (
                f"{labels[top]} is the clear top theme in {n_top} of {len(forces_in)} "
                f"force{'' if len(forces_in) == 1 else 's'}"
            )
        else:
            ftitle = "Where each theme is found, as a share of each force's assessed referrals"
        base_layout(
            fig,
            ftitle,
            "Learning theme",
            "Force",
            height=max(360, 28 * len(forces_in) + 160),
        )
        fig.update_yaxes(autorange="reversed")
        chart_with_table(
            fig,
            heat.select(
                "force",
                "label",
                pl.col("display").alias("referrals_with_theme"),
                *([] if on else ["assessed"]),
                percent_shown(on),
            ),
            name="themes by force",
            context=context,
            headers=THEME_HEADERS,
            caption="Every cell prints its value; a suppressed count shows <5 or withheld and no colour.",
        )

# ----------------------------------------------------------------- by month
with tabs[2]:
    if tabs[2].open:
        st.subheader("By month of decision")
        by_month = shown_long(
            ask(themes.theme_share_by_month, context),
            row_key="month",
            column_key="theme",
            count_column="referrals",
            disclosure_on=on,
            rate_columns=["share"],
        ).with_columns((pl.col("share") * 100).alias("percent"))
        fig = go.Figure()
        for i, t in enumerate(theme_order):
            part = by_month.filter(pl.col("theme") == t).sort("month")
            fig.add_trace(
                go.Scatter(
                    x=part["month"],
                    y=part["percent"],
                    name=labels[t],
                    mode="lines+markers",
                    line={"color": OKABE_ITO[i % 8], "dash": DASHES[i % len(DASHES)]},
                    marker=period_markers(
                        MARKERS[i % len(MARKERS)], (~part["complete"]).to_list(), size=8
                    ),
                )
            )
        months = by_month["month"].unique().sort()
        # One row a month: whether the data cover it whole (the as-at date's month not).
        coverage = (
            by_month.select(
                pl.col("month").alias("period_start"), "complete", "covered_from", "covered_to"
            )
            .unique("period_start")
            .sort("period_start")
        )
        latest = by_month.filter(pl.col("month") == months[-1]) if months.len() else by_month
        month_top = certain_leader(latest, "theme", ["display"]) if latest.height else None
        if month_top is not None:
            share = latest.filter(pl.col("theme") == month_top)["percent"][0]
            last = coverage.row(-1, named=True)
            when = (
                f"In {months[-1]:%B %Y}, the latest month,"
                if last["complete"]
                else f"In {months[-1]:%B %Y} so far (to {day_month(last['covered_to'])}),"
            )
            mtitle = f"{when} {labels[month_top].lower()} was found most often" + (
                f": {share:.0f}% of decisions" if share is not None else ""
            )
        else:
            mtitle = "Themes found each month, as a share of that month's decisions"
        base_layout(
            fig,
            mtitle,
            "Month of decision",
            "Share of assessed referrals (%)",
        )
        value_axis_from_zero(fig)
        month_axis(fig, months.to_list())
        chart_with_table(
            fig,
            by_month.with_columns(coverage_column(by_month, "month")).select(
                pl.col("month").dt.strftime("%Y-%m"),
                "label",
                pl.col("display").alias("referrals_with_theme"),
                *([] if on else ["assessed"]),
                percent_shown(on),
                "covers",
            ),
            name="themes by month",
            context=context,
            headers=THEME_HEADERS,
            caption=partial_caption(coverage, "month", HOLLOW, labels=HOLLOW, shares=True),
        )

# ----------------------------------------------------------------- co-occurrence
with tabs[3]:
    if tabs[3].open:
        st.subheader("Themes found together")
        co = shown_long(
            ask(themes.theme_co_occurrence, context),
            row_key="theme_a",
            column_key="theme_b",
            count_column="referrals",
            disclosure_on=on,
            totals=None,
        )
        z, text = [], []
        for a in theme_order:
            rows = {
                r["theme_b"]: r for r in co.filter(pl.col("theme_a") == a).iter_rows(named=True)
            }
            z.append([rows[b]["referrals"] if b in rows else None for b in theme_order])
            text.append([rows[b]["display"] if b in rows else "" for b in theme_order])
        # A pair is named only when no hidden figure could make another pair lead.
        pairs = co.filter(pl.col("theme_a") < pl.col("theme_b")).with_columns(
            (pl.col("theme_a") + "|" + pl.col("theme_b")).alias("pair")
        )
        leader = certain_leader(pairs, "pair", ["display"])
        top = pairs.filter(pl.col("pair") == leader) if leader is not None else pairs.clear()
        top_count = grouped(str(top["display"][0])) if top.height else ""
        fig = go.Figure(
            go.Heatmap(
                z=z,
                x=[labels[t] for t in theme_order],
                y=[labels[t] for t in theme_order],
                text=text,
                texttemplate="%{text}",
                colorscale=SEQUENTIAL,
                **count_scale(z),
                colorbar={"title": {"text": "referrals"}},
                hovertemplate="%{y} with %{x}: %{text}<extra></extra>",
                xgap=2,
                ygap=2,
            )
        )
        base_layout(
            fig,
            (
                f"Most often together: {labels[top['theme_a'][0]].lower()} and "
                f"{labels[top['theme_b'][0]].lower()} ({top_count} referral{'' if top_count == '1' else 's'})"
                if top.height
                else "Themes found together"
            ),
            "Theme",
            "Theme",
            height=520,
        )
        fig.update_yaxes(autorange="reversed")
        chart_with_table(
            fig,
            co.select(
                pl.col("theme_a").replace_strict(labels).alias("theme"),
                pl.col("theme_b").replace_strict(labels).alias("with_theme"),
                pl.col("display").alias("referrals"),
            ),
            name="theme co-occurrence",
            context=context,
            headers=THEME_HEADERS,
            caption="The diagonal is the number of assessed referrals with the theme.",
        )

# ----------------------------------------------------------------- by decision
with tabs[4]:
    if tabs[4].open:
        st.subheader("Passed back versus upheld")
        by_decision = shown_long(
            ask(themes.themes_by_decision, context),
            row_key="decision",
            column_key="theme",
            count_column="referrals",
            disclosure_on=on,
            rate_columns=["share"],
        ).with_columns((pl.col("share") * 100).alias("percent"))
        fig = go.Figure()
        patterns = ("", "/", ".")
        for i, decision in enumerate(DECISIONS):
            part = by_decision.filter(pl.col("decision") == decision)
            fig.add_trace(
                go.Bar(
                    name=reference.DECISION_LABELS[decision],
                    y=part["label"],
                    x=part["percent"],
                    orientation="h",
                    text=[
                        f"{p:.0f}%" if p is not None else d
                        for p, d in zip(part["percent"], part["display"], strict=True)
                    ],
                    textposition="outside",
                    marker={"color": OKABE_ITO[i], "pattern": {"shape": patterns[i]}},
                )
            )
        fig.update_layout(barmode="group")
        gtitle = decision_gap_title(
            by_decision.filter(pl.col("decision") == "passed_back_to_force"),
            by_decision.filter(pl.col("decision") == "nfa_upheld"),
        )
        base_layout(
            fig,
            gtitle,
            "Share of assessed referrals with the decision (%)",
            "Learning theme",
            height=560,
        )
        value_axis_from_zero(fig, horizontal=True)
        fig.update_yaxes(autorange="reversed", automargin=True)
        chart_with_table(
            fig,
            by_decision.select(
                pl.col("decision").replace_strict(reference.DECISION_LABELS),
                "label",
                pl.col("display").alias("referrals_with_theme"),
                *([] if on else ["assessed"]),
                percent_shown(on),
            ),
            name="themes by decision",
            context=context,
            headers=THEME_HEADERS,
        )
