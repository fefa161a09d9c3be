"""Offence types: offence groups and Home Office codes, by force and by the year the
crime was recorded, and the priority subset of referrals involving rape."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard.session import require_role

context = require_role("offences")

from dashboard.components.charts import (  # noqa: E402
    OKABE_ITO,
    bar_chart,
    base_layout,
    stacked_bars,
    value_axis_from_zero,
)
from dashboard.components.figure_block import chart_with_table, section_tabs  # noqa: E402
from dashboard.components.filters import describe_filters  # noqa: E402
from dashboard.components.periods import long_date  # noqa: E402
from dashboard.data import (  # noqa: E402
    Shown,
    ask,
    audit_shown,
    certain_leader,
    frames,
    protect_covering,
    shown_count,
    shown_table,
    sure_leader_row,
    wide,
    withhold_rows,
)
from metrics import offences, reference, volumes  # noqa: E402
from metrics.disclosure import WITHHELD  # noqa: E402

on = context.disclosure_on
store = frames(context)
st.title("Offence types")
st.caption(
    (f"As at {long_date(store.as_at)}. " if store.as_at else "")
    + describe_filters(context.filters)
    + " A referral with offence codes from several groups counts once in each group, so "
    "the groups add up to more than the number of referrals."
)
short_names = dict(zip(reference.forces()["name"], reference.forces()["short_name"], strict=True))

group_order = offences.offence_groups()


def referrals_in_view() -> int:
    """The number of referrals the filters select (each has at least one code)."""
    return int(ask(volumes.referrals_by_force, context)["referrals"].sum() or 0)


if referrals_in_view() == 0:
    st.info("No referrals match the filters.")
    st.stop()

# Only the chosen tab's figures are computed and sent to the browser.
tabs = section_tabs(
    ["Offence groups", "Home Office codes", "Groups by force", "By crime year", "Rape priority"],
    key="offences_tab",
)

# ----------------------------------------------------------------- groups
with tabs[0]:
    if tabs[0].open:
        st.subheader("Offence groups")
        groups = (
            ask(offences.referrals_by_offence_group, context)
            .with_columns((pl.col("share") * 100).alias("percent"))
            .select("offence_group", "referrals", "percent")
        )
        g = shown_table(
            groups,
            ["referrals"],
            disclosure_on=on,
            totals=None,
            rate_columns={"percent": ["referrals"]},
        )
        if on:  # the percentages give the total, which every referral is in a group of
            g = protect_covering(
                g,
                groups,
                key="offence_group",
                count="referrals",
                total=referrals_in_view(),
                rate_columns=["percent"],
                most_per_item=len(group_order),
            )
        gplot = g.values.with_columns(g.table["referrals"].alias("shown"))
        rape = gplot.filter(pl.col("offence_group") == "Rape")
        if rape.height and rape["percent"][0] is not None:
            gtitle = f"{rape['referrals'][0]:,} referrals ({rape['percent'][0]:.0f}%) include a rape offence"
        else:
            gtitle = "Referrals by offence group"
        chart_with_table(
            bar_chart(
                gplot,
                category="offence_group",
                value="referrals",
                text="shown",
                title=gtitle,
                category_title="Offence group",
                value_title="Referrals with an offence in the group (count)",
            ),
            g.table.rename({"percent": "percent_of_referrals"}),
            name="offence groups",
            context=context,
        )

# ----------------------------------------------------------------- codes
with tabs[1]:
    if tabs[1].open:
        st.subheader("Home Office offence codes")
        codes = ask(offences.referrals_by_offence_code, context).with_columns(
            (pl.col("share") * 100).alias("percent"),
            (pl.col("code") + " " + pl.col("label")).alias("offence"),
        )
        c = shown_table(
            codes.select("code", "label", "offence_group", "referrals", "percent"),
            ["referrals"],
            disclosure_on=on,
            totals=None,
            rate_columns={"percent": ["referrals"]},
        )
        if on:  # as for the groups: every referral has at least one code
            c = protect_covering(
                c,
                codes,
                key="code",
                count="referrals",
                total=referrals_in_view(),
                rate_columns=["percent"],
            )
        cplot = c.values.with_columns(
            c.table["referrals"].alias("shown"), codes["offence"].alias("offence")
        ).filter(pl.col("referrals").is_null() | (pl.col("referrals") > 0))
        # A title names a leader only when no hidden figure (<5, withheld) or tie could
        # make another row the largest, and only with its count shown.
        ctop = sure_leader_row(cplot, "code", ["shown"], "referrals")
        chart_with_table(
            bar_chart(
                cplot.sort("referrals", descending=True, nulls_last=True),
                category="offence",
                value="referrals",
                text="shown",
                title=(
                    f"The most common code is {ctop['code'][0]} ({ctop['label'][0].lower()}): "
                    f"{ctop['referrals'][0]:,} referrals"
                    if ctop.height
                    else "Referrals by offence code"
                ),
                category_title="Home Office offence code",
                value_title="Referrals with the code (count)",
                colour=OKABE_ITO[2],
            ),
            c.table.rename({"percent": "percent_of_referrals"}),
            name="offence codes",
            context=context,
            caption="Codes with no referral in view are listed in the table but not drawn.",
        )

# ----------------------------------------------------------------- by force
with tabs[2]:
    if tabs[2].open:
        st.subheader("Offence groups by force")
        by_force = wide(
            ask(offences.offence_groups_by_force, context),
            index="force",
            columns="offence_group",
            values="referrals",
            order=group_order,
        )
        f = shown_table(by_force, group_order, disclosure_on=on, totals="column")
        fplot = f.values.with_columns(
            pl.col("force").replace_strict(short_names, default=pl.col("force")).alias("short_name")
        )
        rape_top = sure_leader_row(fplot, "force", ["Rape"], "Rape", shown=f.table)
        chart_with_table(
            stacked_bars(
                fplot,
                category="short_name",
                series=group_order,
                title=(
                    f"{rape_top['short_name'][0]} referred the most files involving rape: "
                    f"{rape_top['Rape'][0]:,}"
                    if rape_top.height
                    else "Offence groups by force"
                ),
                category_title="Force",
                value_title="Referrals with an offence in the group (count)",
            ),
            f.table,
            name="offence groups by force",
            context=context,
            caption="Bars are patterned as well as coloured; a suppressed figure draws no segment. "
            "Hover over a segment, or read the table, for its value.",
        )

# ----------------------------------------------------------------- by crime year
with tabs[3]:
    if tabs[3].open:
        st.subheader("By the year the crime was recorded")
        by_year = wide(
            ask(offences.offence_groups_by_crime_year, context),
            index="crime_year",
            columns="offence_group",
            values="referrals",
            order=group_order,
        )
        y = shown_table(by_year, group_order, disclosure_on=on, totals="column")
        yplot = y.values
        # Claimed only when no hidden figure could make another year the largest.
        leading_year = certain_leader(y.table, "crime_year", group_order)
        fig = go.Figure()
        patterns = ("", "/", ".", "x")
        for i, group in enumerate(group_order):
            fig.add_trace(
                go.Bar(
                    name=group,
                    x=yplot["crime_year"],
                    y=yplot[group],
                    marker={"color": OKABE_ITO[i], "pattern": {"shape": patterns[i % 4]}},
                )
            )
        fig.update_layout(barmode="stack")
        base_layout(
            fig,
            (
                f"Most referred crimes were recorded in {leading_year}"
                if leading_year is not None
                else "Referrals by year the crime was recorded"
            ),
            "Year the crime was recorded",
            "Referrals (count)",
        )
        value_axis_from_zero(fig)
        chart_with_table(
            fig,
            y.table.with_columns(pl.col("crime_year").cast(pl.String)),
            name="offence groups by crime year",
            context=context,
        )


# ----------------------------------------------------------------- rape priority subset
def _protect_rape_priority(
    r: Shown, rape_force: pl.DataFrame, total_rape: str, total_refs: str
) -> tuple[Shown, str, str]:
    """The tab as one linked set: every listed force has at least one referral and
    no more rape referrals than referrals, and the forces' referrals (not printed
    here) add up to the total quoted. Without this, "5 of 6" beside one force's 5 and
    another's 0 gives the second force exactly 1 referral. The total referrals are
    withheld first, then the forces' figures, the smallest first."""
    from metrics.disclosure_links import Link, at_most, sums_to

    forces = rape_force["force"].to_list()
    values = {"total referrals": int(rape_force["referrals"].sum())}
    values["total rape"] = int(rape_force["rape_referrals"].sum())
    shown: dict[str, str | None] = {"total referrals": total_refs, "total rape": total_rape}
    links = []
    printed = dict(zip(r.table["force"], r.table["rape_referrals"].cast(pl.String), strict=True))
    for row in rape_force.iter_rows(named=True):
        f = row["force"]
        values[f"{f} referrals"], shown[f"{f} referrals"] = row["referrals"], None
        values[f"{f} rape"], shown[f"{f} rape"] = row["rape_referrals"], printed[f]
        links.append(at_most(f"{f} rape", f"{f} referrals"))
        links.append(Link({f"{f} referrals": 1}, low=1))  # listed: at least one
    links.append(sums_to([f"{f} referrals" for f in forces], "total referrals"))
    links.append(sums_to([f"{f} rape" for f in forces], "total rape"))
    by_size = sorted(forces, key=lambda f: values[f"{f} rape"])
    candidates = ["total referrals", *(f"{f} rape" for f in by_size), "total rape"]
    result = audit_shown(values, shown, links, candidates, last_resort=["total referrals"])
    more = [f for f in forces if result[f"{f} rape"] == WITHHELD != shown[f"{f} rape"]]
    r = withhold_rows(r, "force", more, ["rape_referrals"])
    return r, str(result["total rape"]), str(result["total referrals"])


with tabs[4]:
    if tabs[4].open:
        st.subheader("Priority: referrals involving rape")
        rape_force = ask(volumes.referrals_by_force, context).select(
            "force", "referrals", "rape_referrals"
        )
        total_refs = int(rape_force["referrals"].sum() or 0)
        r = shown_table(
            rape_force.select("force", "rape_referrals"),
            ["rape_referrals"],
            disclosure_on=on,
            totals="column",
        )
        # The total quoted is the table's own, as protected with it.
        figure = r.totals.get("rape_referrals")
        total_rape = "0" if figure is None else figure.display
        if figure is not None and figure.value is not None:
            total_rape = f"{figure.value:,}"
        total_refs_shown = shown_count(total_refs, on)
        if on and rape_force.height:
            r, total_rape, total_refs_shown = _protect_rape_priority(
                r, rape_force, total_rape, total_refs_shown
            )
        st.markdown(
            f"**{total_rape}** of **{total_refs_shown}** referrals in view "
            "involve an allegation of rape (any of their Home Office offence codes is a rape "
            "offence). The review "
            "assesses these first."
        )
        rplot = r.values.with_columns(
            r.table["rape_referrals"].alias("shown"),
            pl.col("force")
            .replace_strict(short_names, default=pl.col("force"))
            .alias("short_name"),
        )
        rtop = sure_leader_row(rplot, "force", ["shown"], "rape_referrals")
        chart_with_table(
            bar_chart(
                rplot.sort("rape_referrals", descending=True, nulls_last=True),
                category="short_name",
                value="rape_referrals",
                text="shown",
                title=(
                    f"{rtop['short_name'][0]} has the most referrals involving rape: "
                    f"{rtop['rape_referrals'][0]:,}"
                    if rtop.height
                    else "Referrals involving rape by force"
                ),
                category_title="Force",
                value_title="Referrals involving rape (count)",
                colour=OKABE_ITO[5],
            ),
            r.table,
            name="rape referrals by force",
            context=context,
        )
