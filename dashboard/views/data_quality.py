"""Data quality, for data stewards: quality scorecards by force and by month, the
validation runs of ``beaconport check`` (and a button to run them now), the open
quarantine with filters and the repair export, where the Data Docs are, and the files
received.

Every figure comes from ``data_checks`` (``quality.quality_scores``,
``quality_checks.check_runs`` / ``check_results`` / ``run_checks``,
``quarantine.list_quarantined`` / ``quarantine_reason_counts`` (``reason_counts_of``) /
``export_quarantined``); the check descriptions are shown exactly as stored, the same
text as in the JSON summary and the Data Docs. Steward and administrator only.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard.session import require_role

context = require_role("data-quality")

from dashboard import quality_data  # noqa: E402
from dashboard.components.charts import (  # noqa: E402
    OKABE_ITO,
    SEQUENTIAL,
    bar_chart,
    base_layout,
    line_chart,
    month_axis,
)
from dashboard.components.figure_block import (  # noqa: E402
    chart_with_table,
    origin_suffix,
    slug,
    table_with_exports,
)
from dashboard.session import get_engine  # noqa: E402
from data_checks.quality import DIMENSIONS  # noqa: E402
from data_checks.quality_config import load_quality_config  # noqa: E402
from data_checks.quarantine import FEEDS, QuarantineFilters, export_quarantined  # noqa: E402
from metrics import reference  # noqa: E402

log = logging.getLogger("beaconport.dashboard")

ALL = "(all)"
NO_FORCE = "(no known force)"
SCORE_COLUMNS = [f"{d}_score" for d in DIMENSIONS]
#: Scores on the page with one decimal, as the heat map prints them ("100.0", not "100").
SCORE_FORMATS = dict.fromkeys([*SCORE_COLUMNS, "overall_score"], "%.1f")
DATA_DOCS_DIR = "data-docs"
#: Open quarantined rows listed on the page at most (the downloads hold them all).
SHOWN_QUARANTINE_ROWS = 1_000
RUN_KEY = "dq-run"
RUN_MESSAGE_KEY = "dq-run-message"


def _check_runs(url: str) -> pl.DataFrame:
    """Not cached: ``beaconport check`` adds runs without loading data."""
    from data_checks.quality_checks import check_runs

    return check_runs(get_engine(url), limit=50)


def _repair_export(url: str, feed: str, filters: QuarantineFilters):
    """A callable for the download button: ``export_quarantined`` into a temporary file,
    whose bytes are served (built only when the steward clicks)."""

    def build() -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"quarantine-{feed}.csv"
            export_quarantined(get_engine(url), out, feed, filters)
            return out.read_bytes()

    return build


short_names = dict(zip(reference.forces()["name"], reference.forces()["short_name"], strict=True))


def _force_label(force: str | None) -> str:
    return NO_FORCE if force is None else short_names.get(force, force)


def _score_text(v: float | None) -> str:
    return "not scored" if v is None else f"{v:.1f}"


def _dimension_label(d: str) -> str:
    return d.capitalize()


# --------------------------------------------------------------------------- the page
url, version = context.db_url, context.version
st.title("Data quality")
st.caption(
    "For data stewards and administrators. These tables are about the data, not about "
    "children or cases: quarantined rows are listed one by one and counts by force can "
    "be small (1 to 4), which is allowed here because only stewards and administrators "
    "can open this page. The sidebar filters (which restrict referrals) do not apply to "
    "this page; the quarantine has its own filters."
)

scores = quality_data.scores(url, version)
national = scores["national"]
quarantine_all = quality_data.quarantined(url, version, None, None, None)
runs = _check_runs(url)

c1, c2, c3, c4 = st.columns(4)
overall = national["overall_score"][0] if national.height else None
c1.metric(
    "Overall quality score",
    _score_text(overall),
    help="Mean of the dimension scores that can be computed (0-100).",
    border=True,
)
c2.metric("Grade", (national["grade"][0] if national.height else None) or "none", border=True)
c3.metric("Open quarantined rows", f"{quarantine_all.height:,}", border=True)
if runs.height:
    latest = runs.row(0, named=True)
    c4.metric(
        f"Latest check (run {latest['run_id']})",
        "passed" if latest["success"] else "failed",
        f"{latest['failed_critical']} critical, {latest['failed_warning']} warning failed",
        delta_color="off",
        border=True,
    )
else:
    c4.metric("Latest check", "never run", border=True)

# ----------------------------------------------------------------- scorecards by force
st.subheader("Quality scorecards by force")
cfg = load_quality_config()
st.caption(
    "Each dimension is scored 0-100 (100: no problem found); the overall score is the mean "
    "of the dimensions that can be computed, graded A (95 or more), B (90), C (80), D (70), "
    f"else E. Validity: rows not quarantined; completeness: suspects with ethnicity "
    f"recorded; timeliness: first event within {cfg.first_event_days} days; consistency: "
    "event order and decision corrections; uniqueness: no repeated or replaced rows. "
    "Definitions: docs/data-quality.md."
)
by_force = scores["force"]
if by_force.height == 0:
    st.info("No data are stored yet, so nothing can be scored.")
else:
    table = by_force.select(
        pl.col("force").fill_null(NO_FORCE), *SCORE_COLUMNS, "overall_score", "grade"
    )
    labels = [_force_label(f) for f in by_force["force"].to_list()]
    # The five dimensions, then the overall score with its grade.
    z = [
        [row[c] for c in [*SCORE_COLUMNS, "overall_score"]]
        for row in by_force.iter_rows(named=True)
    ]
    text = [
        [_score_text(v) for v in r[:-1]]
        + [f"{_score_text(r[-1])} ({g})" if g else _score_text(r[-1])]
        for r, g in zip(z, by_force["grade"].to_list(), strict=True)
    ]
    heat = go.Figure(
        go.Heatmap(
            z=z,
            x=[*(_dimension_label(d) for d in DIMENSIONS), "Overall (grade)"],
            y=labels,
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=100,
            colorscale=SEQUENTIAL,
            colorbar={"title": {"text": "score (0-100)"}},
            hovertemplate="%{y}, %{x}: %{text}<extra></extra>",
            xgap=2,
            ygap=2,
        )
    )
    nat = national.row(0, named=True)
    scored = {d: nat[f"{d}_score"] for d in DIMENSIONS if nat[f"{d}_score"] is not None}
    lowest = by_force.filter(pl.col("overall_score").is_not_null()).sort(
        "overall_score", "force", nulls_last=True
    )
    parts = []
    if scored:
        weakest = min(scored, key=lambda d: scored[d])
        parts.append(
            f"{_dimension_label(weakest)} is the weakest dimension nationally "
            f"({scored[weakest]:.1f} of 100)"
        )
    if lowest.height:
        low = lowest.row(0, named=True)
        parts.append(
            f"{_force_label(low['force'])} scores lowest overall "
            f"({low['overall_score']:.1f}, grade {low['grade']})"
        )
    base_layout(
        heat,
        "; ".join(parts) or "Quality scores by force and dimension",
        "Quality dimension",
        "Force",
        height=max(360, 28 * len(labels) + 160),
    )
    heat.update_yaxes(autorange="reversed")
    chart_with_table(
        heat,
        table,
        name="quality scores by force",
        context=context,
        caption="Every cell prints its score; darker is better. A cell marked 'not scored' "
        "is a dimension with nothing to judge yet for that force.",
        headers=False,
        number_formats=SCORE_FORMATS,
    )

# ----------------------------------------------------------------- trend by month
st.subheader("Quality by month")
by_month = scores["month"]
if by_month.height == 0:
    st.info("No month has data yet.")
else:
    trend = by_month.filter(pl.col("overall_score").is_not_null())
    title = "Overall quality score by month"
    if trend.height:
        last = trend.row(trend.height - 1, named=True)
        title = (
            f"Overall score {last['overall_score']:.1f} in {last['month']:%B %Y} "
            f"(grade {last['grade']})"
        )
        if trend.height > 1:
            prev = trend.row(trend.height - 2, named=True)
            change = last["overall_score"] - prev["overall_score"]
            word = "up" if change > 0 else "down" if change < 0 else "unchanged"
            title += (
                f", {word} from {prev['overall_score']:.1f} in {prev['month']:%B %Y}"
                if change
                else f", unchanged from {prev['month']:%B %Y}"
            )
    fig = line_chart(
        by_month,
        x="month",
        ys=["overall_score"],
        names=["Overall score"],
        title=title,
        x_title="Month (of each row's own date)",
        y_title="Overall quality score (0-100)",
    )
    fig.update_yaxes(range=[0, 105])
    month_axis(fig, by_month["month"].to_list())
    chart_with_table(
        fig,
        by_month.select(
            pl.col("month").dt.strftime("%Y-%m"), *SCORE_COLUMNS, "overall_score", "grade"
        ),
        name="quality scores by month",
        context=context,
        caption="A referral counts in the month of its referral date, an event in the month of "
        "its event date, a quarantined row in the month of the date it carries (else the "
        "month its file was received).",
        headers=False,
        number_formats=SCORE_FORMATS,
    )

# ----------------------------------------------------------------- validation runs
st.subheader("Validation runs")
st.caption(
    "`beaconport check` runs every stored-data check (Great Expectations) over what is "
    "stored. A run fails when a critical check fails; warnings and information do not "
    "fail it."
)
if st.button(
    "Run the checks now",
    type="primary",
    icon=":material/play_arrow:",
    help="Runs every check over the stored data (this can take a minute) and records the "
    "run under your name.",
    key="run-checks",
):
    from data_checks.quality_checks import run_checks

    try:
        with st.spinner("Running the checks…"):
            new_run = run_checks(get_engine(url), actor=context.username or "dashboard")
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception("run_checks from the dashboard failed (reference %s)", ref)
        st.error(
            f"The checks could not be run (reference {ref}). The error has been logged "
            "for the data team."
        )
    else:
        # Start again so that every figure on the page (the cards at the top too)
        # shows the new run; the message and the chosen run are kept for that run.
        quality_data.clear_caches()
        st.session_state[RUN_MESSAGE_KEY] = f"Run {new_run.run_id} recorded: " + (
            "passed." if new_run.success else "failed (a critical check failed)."
        )
        st.session_state[RUN_KEY] = new_run.run_id
        st.rerun()
if RUN_MESSAGE_KEY in st.session_state:
    st.success(st.session_state.pop(RUN_MESSAGE_KEY))

if runs.height == 0:
    st.info(
        "No validation run is stored yet. Run the checks with the button above, or "
        "`beaconport check` on the server."
    )
else:
    runs_table = runs.with_columns(
        pl.col("started_at").dt.strftime("%Y-%m-%d %H:%M:%S"),
        pl.col("finished_at").dt.strftime("%Y-%m-%d %H:%M:%S"),
        pl.when(pl.col("success"))
        .then(pl.lit("passed"))
        .otherwise(pl.lit("failed"))
        .alias("result"),
    ).select(
        "run_id",
        "started_at",
        "finished_at",
        "result",
        pl.col("evaluated").alias("checks_evaluated"),
        "failed_critical",
        "failed_warning",
        "failed_info",
    )
    with st.expander(f"The latest {runs.height} runs", expanded=False):
        table_with_exports(runs_table, name="validation runs", context=context, headers=False)
    run_labels = {
        r["run_id"]: f"Run {r['run_id']}, {r['started_at']}: {r['result']}"
        for r in runs_table.iter_rows(named=True)
    }
    run_id = st.selectbox(
        "Results of run",
        list(run_labels),
        format_func=run_labels.get,
        key=RUN_KEY,
    )
    results = quality_data.results(url, int(run_id), False)
    failed = results.filter(~pl.col("success"))
    shown = results.select(
        "check",
        "severity",
        "dimension",
        "description",
        pl.when(pl.col("success"))
        .then(pl.lit("passed"))
        .otherwise(pl.lit("failed"))
        .alias("result"),
        pl.col("element_count").alias("rows_checked"),
        pl.col("unexpected_count").alias("rows_failing"),
        pl.col("examples").list.join("; ").alias("examples"),
    )
    if st.toggle("Only checks that failed", key="dq-failed-only"):
        shown = shown.filter(pl.col("result") == "failed")
    counts = {s: failed.filter(pl.col("severity") == s).height for s in ("critical", "warning")}
    if failed.height == 0:
        st.success(f"Every one of the {results.height} checks in run {run_id} passed.")
        table_with_exports(
            shown, name=f"check results run {run_id}", context=context, headers=False
        )
    else:
        plot = failed.select(
            "check",
            "unexpected_count",
            (pl.col("unexpected_count").cast(pl.String) + " (" + pl.col("severity") + ")").alias(
                "label"
            ),
        )
        chart_with_table(
            bar_chart(
                plot,
                category="check",
                value="unexpected_count",
                text="label",
                title=f"{failed.height} of {results.height} checks failed in run {run_id}: "
                f"{counts['critical']} critical, {counts['warning']} warning",
                category_title="Check",
                value_title="Rows breaking the check (count)",
                colour=OKABE_ITO[5],
            ),
            shown,
            name=f"check results run {run_id}",
            context=context,
            caption="Bars: the checks that failed, with their severity. The table beside "
            "lists every check of the run with its description as stored.",
            table_height=420,
            headers=False,
        )
    per_force = quality_data.results(url, int(run_id), True)
    if per_force.height:
        with st.expander("Results by force"):
            table_with_exports(
                per_force.select(
                    "force",
                    "check",
                    "severity",
                    "dimension",
                    pl.when(pl.col("success"))
                    .then(pl.lit("passed"))
                    .otherwise(pl.lit("failed"))
                    .alias("result"),
                    pl.col("element_count").alias("rows_checked"),
                    pl.col("unexpected_count").alias("rows_failing"),
                ),
                name=f"check results by force run {run_id}",
                context=context,
                headers=False,
            )

st.info(
    "**Data Docs.** `beaconport check --docs DIR` also builds Great Expectations Data Docs "
    f"in `DIR` (for example `beaconport check --docs {DATA_DOCS_DIR}` writes "
    f"`{DATA_DOCS_DIR}/index.html` in the directory the command was run from). The "
    "dashboard cannot serve local HTML files, so open that `index.html` in a web browser "
    "on the machine that holds it (File > Open, or `file:///full/path/index.html`), or "
    "copy the folder to your computer. Offline, the Data Docs show without their styling; "
    "the results and descriptions are the same as the validation runs' on this page.",
    icon=":material/description:",
)

# ----------------------------------------------------------------- quarantine
st.subheader("Open quarantine")
st.caption(
    "Rows refused by the data contract, waiting for repair. Resolved and superseded rows "
    "are kept but not listed here (`beaconport quarantine list --status all`)."
)
if quarantine_all.height == 0:
    st.success("No quarantined row is waiting for repair.")
else:
    reasons = (
        quality_data.reason_counts(url, version)
        .group_by("reason")
        .agg(pl.col("rows").sum().cast(pl.Int64))
        .sort(["rows", "reason"], descending=[True, False])
    )
    chart_with_table(
        bar_chart(
            reasons,
            category="reason",
            value="rows",
            title=f"Most common reason: {reasons['reason'][0]} "
            f"({reasons['rows'][0]:,} of {quarantine_all.height:,} open rows)",
            category_title="Reason code",
            value_title="Open quarantined rows (count)",
            colour=OKABE_ITO[1],
        ),
        reasons,
        name="open quarantine by reason",
        context=context,
        caption="A row that broke two rules counts under both reasons.",
        headers=False,
    )
    with st.expander("Open quarantined rows by feed, force and reason"):
        table_with_exports(
            quality_data.reason_counts(url, version).with_columns(
                pl.col("force").fill_null(NO_FORCE), pl.col("rows").cast(pl.Int64)
            ),
            name="open quarantine by feed force and reason",
            context=context,
            headers=False,
        )

    def _options(column: str) -> list[str]:
        values = quarantine_all[column].drop_nulls().unique().sort().to_list()
        return [ALL, *values]

    reason_options = [
        ALL,
        *sorted(
            {
                code
                for codes in quarantine_all["reason_codes"].drop_nulls().to_list()
                for code in codes.split(";")
                if code
            }
        ),
    ]
    f1, f2, f3 = st.columns(3)
    force = f1.selectbox("Force", _options("force"), key="dq-force")
    reason = f2.selectbox("Reason", reason_options, key="dq-reason")
    file = f3.selectbox("File", _options("source_file"), key="dq-file")
    filters = QuarantineFilters(
        force=None if force == ALL else force,
        reason=None if reason == ALL else reason,
        file=None if file == ALL else file,
    )
    view = quality_data.quarantined(url, version, filters.force, filters.reason, filters.file)
    st.markdown(
        f"**{view.height:,}** of {quarantine_all.height:,} open quarantined rows match "
        "these filters."
    )
    table_with_exports(
        view.select(
            "quarantine_id",
            "feed",
            "force",
            "force_as_received",
            "force_referral_id",
            "reason_codes",
            "reasons",
            "source_file",
            "source_row",
            pl.col("received_at").dt.strftime("%Y-%m-%d %H:%M"),
            "data_origin",
        ),
        name="open quarantine",
        context=context,
        headers=False,
        shown_rows=SHOWN_QUARANTINE_ROWS,
    )

    st.markdown("**Repair export**")
    st.markdown(
        "1. Download the rows of one feed below (referrals first, then events); the "
        "download follows the filters above.\n"
        "2. Correct the contract's columns only. Keep `quarantine_id` (it says which row "
        "each line repairs); the other extra columns are ignored. Cells that start with a "
        "formula sign carry a leading apostrophe, which the repair removes. Save as CSV.\n"
        "3. On the server: `beaconport quarantine repair FILE --feed referrals` (then "
        "`--feed events`). Each row that passes closes its quarantine entry; a row that "
        "fails again is quarantined again and the row it tried to repair is marked "
        "superseded. Events quarantined only because their referral was "
        "(`unknown_referral`, `out_of_order`) need no change, only loading again."
    )
    cols = st.columns(len(FEEDS))
    for col, feed in zip(cols, FEEDS, strict=True):
        n = view.filter(pl.col("feed") == feed).height
        stem = f"beaconport-quarantine-{slug(feed)}" + origin_suffix(context)
        col.download_button(
            f"{feed.capitalize()} for repair ({n:,} row{'' if n == 1 else 's'}, CSV)",
            _repair_export(url, feed, filters),
            file_name=f"{stem}.csv",
            mime="text/csv",
            key=f"repair-{feed}",
            on_click="ignore",
            icon=":material/download:",
            disabled=n == 0,
            help=f"`export_quarantined`: the open {feed} rows shown above, as received, with "
            "quarantine_id, reasons, source file and row, and data_origin.",
        )

# ----------------------------------------------------------------- files received
st.subheader("Files received")
submissions = quality_data.submissions(url, version)
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
        headers=False,
    )
