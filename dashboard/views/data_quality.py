"""Data quality, for data stewards: files received, and the quarantine of rows that
broke a rule of the data contract, with an export for repair.

Quality scores by force and month and the validation runs are added by the
data-quality work (see docs/data-quality.md when it lands)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.session import require_role

context = require_role("data-quality")

from dashboard.components.figure_block import table_with_exports  # noqa: E402
from metrics.store import read_quarantine, read_submissions  # noqa: E402


@st.cache_data(show_spinner=False, max_entries=16)
def _quarantine(url: str, version: int, status: str | None) -> pl.DataFrame:
    from dashboard.session import get_engine

    return read_quarantine(get_engine(url), status=status)


@st.cache_data(show_spinner=False, max_entries=16)
def _submissions(url: str, version: int) -> pl.DataFrame:
    from dashboard.session import get_engine

    return read_submissions(get_engine(url))


st.title("Data quality")
st.caption(
    "For data stewards. These tables show row-level detail (force references and the "
    "reasons rows were refused) and are not disclosure-controlled."
)

submissions = _submissions(context.db_url, context.version)
quarantine_open = _quarantine(context.db_url, context.version, "open")

c1, c2, c3, c4 = st.columns(4)
loaded = submissions.filter(pl.col("status") == "loaded") if submissions.height else submissions
c1.metric("Files received", f"{submissions.height:,}", border=True)
c2.metric(
    "Files rejected",
    f"{submissions.filter(pl.col('status') == 'rejected').height:,}" if submissions.height else "0",
    border=True,
)
c3.metric(
    "Rows loaded",
    f"{int(loaded['rows_loaded'].sum() or 0):,}" if loaded.height else "0",
    border=True,
)
c4.metric("Open quarantined rows", f"{quarantine_open.height:,}", border=True)

st.subheader("Open quarantine")
if quarantine_open.height == 0:
    st.success("No quarantined row is waiting for repair.")
else:
    reasons = (
        quarantine_open.select(pl.col("reason_codes").str.split(";").alias("reason"))
        .explode("reason")
        .with_columns(pl.col("reason").str.strip_chars())
        .filter(pl.col("reason") != "")
        .group_by("reason")
        .agg(pl.len().alias("rows"))
        .sort(["rows", "reason"], descending=[True, False])
    )
    st.markdown(
        f"**{quarantine_open.height:,} rows** are waiting for repair; the most common reason "
        f"is `{reasons['reason'][0]}` ({reasons['rows'][0]:,} rows)."
        if reasons.height
        else f"**{quarantine_open.height:,} rows** are waiting for repair."
    )
    feed = st.segmented_control(
        "Feed", ["referrals", "events"], selection_mode="multi", default=["referrals", "events"]
    )
    view = quarantine_open.filter(pl.col("feed").is_in(feed or []))
    if context.filters.forces:
        view = view.filter(pl.col("force").is_in(list(context.filters.forces)))
    table_with_exports(
        view.select(
            "id",
            "feed",
            "file_name",
            "source_row",
            "force",
            "force_referral_id",
            "reason_codes",
            pl.col("received_at").dt.strftime("%Y-%m-%d %H:%M"),
        ),
        name="open quarantine for repair",
        context=context,
    )
    st.caption(
        "The export lists each row's file and row number so the sender can correct it; "
        "a corrected row sent again closes its quarantine entry."
    )

st.subheader("Files received")
if submissions.height == 0:
    st.info("No file has been received yet.")
else:
    table_with_exports(
        submissions.select(
            "id",
            "feed",
            "file_name",
            "status",
            "rows_read",
            "rows_loaded",
            "rows_quarantined",
            "rows_ineligible",
            "reason",
            "synthetic",
            pl.col("received_at").dt.strftime("%Y-%m-%d %H:%M"),
        ).sort("id", descending=True),
        name="files received",
        context=context,
    )

st.subheader("Quality scores and validation runs")
st.info(
    "Scorecards by force and month, the validation runs of `beaconport check` and the "
    "link to the Data Docs will appear here.",
    icon=":material/construction:",
)
