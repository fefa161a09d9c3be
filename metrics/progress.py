"""Headline progress of the review: the figures programme leads and oversight staff
follow week by week, each with its change since an earlier date."""

from __future__ import annotations

from datetime import date

import polars as pl

from metrics import reference
from metrics.filters import Filters
from metrics.frames import (
    DECISIONS,
    INELIGIBILITY_REASONS,
    StoreFrames,
    is_assessed,
    is_reopened,
)

#: (measure, label) in the order the dashboard shows them.
HEADLINE_MEASURES: tuple[tuple[str, str], ...] = (
    ("referrals", "Referrals received"),
    ("forces_referring", "Forces referring"),
    ("forces_yet_to_refer", "Forces yet to refer"),
    ("rape_referrals", "Referrals involving rape"),
    ("eligible", "Eligible"),
    ("ineligible", "Ineligible"),
    *((f"ineligible_{r}", f"Ineligible: {r.replace('_', ' ')}") for r in INELIGIBILITY_REASONS),
    ("assessed", "Assessed (decision made)"),
    ("nfa_upheld", "Decision: no further action upheld"),
    ("passed_back_to_force", "Decision: passed back to force"),
    ("adopted_by_nca", "Decision: adopted by the NCA"),
    ("awaiting_decision", "Awaiting decision"),
    ("reopened", "Reopened (passed back or adopted)"),
    ("charged", "Referrals with a suspect charged"),
    ("convicted", "Referrals with a suspect convicted"),
    ("misconduct_referrals", "Referrals with a misconduct referral"),
    ("victims_contacted", "Victim-survivor contacts"),
    ("acknowledgements_given", "Acknowledgements given"),
)


def _forces_in_scope(filters: Filters) -> int:
    """How many forces the filters cover (all 44 when no force or region is chosen)."""
    forces = reference.forces()
    if filters.forces:
        forces = forces.filter(pl.col("name").is_in(list(filters.forces)))
    if filters.regions:
        forces = forces.filter(pl.col("region").is_in(list(filters.regions)))
    return forces.height


def headline_figures(frames: StoreFrames, filters: Filters | None = None) -> dict[str, int]:
    """The headline counts now, keyed by measure (see ``HEADLINE_MEASURES``).

    Counting rules (the contract's, for the figures it defines):
    ``referrals`` counts stored referrals, eligible and ineligible;
    ``forces_referring`` forces with at least one, ``forces_yet_to_refer`` the other
    forces in scope (44 nationally: 43 territorial forces and British Transport Police);
    ``rape_referrals`` referrals with a code where ``rape = true``;
    ``ineligible_<reason>`` ineligible referrals with that reason (a referral can have
    several); ``assessed`` eligible referrals with a decision and each decision key the
    eligible referrals with that current decision; ``awaiting_decision`` eligible
    referrals with none; ``reopened`` = passed back + adopted; ``charged``, ``convicted``
    and ``misconduct_referrals`` count referrals (eligible or not) with at least one such
    event; ``victims_contacted`` and ``acknowledgements_given`` count events (one per
    victim-survivor contacted or acknowledged), not referrals.
    """
    filters = filters or Filters()
    view = frames.filtered(filters)
    eligible = pl.col("eligible")
    row = (
        view.referrals.select(
            pl.len().alias("referrals"),
            pl.col("force").n_unique().alias("forces_referring"),
            pl.col("involves_rape").sum().alias("rape_referrals"),
            eligible.sum().alias("eligible"),
            (~eligible).sum().alias("ineligible"),
            *(
                pl.col("ineligible_reasons")
                .list.contains(reason)
                .sum()
                .alias(f"ineligible_{reason}")
                for reason in INELIGIBILITY_REASONS
            ),
            is_assessed().sum().alias("assessed"),
            *(
                (is_assessed() & (pl.col("decision") == decision)).sum().alias(decision)
                for decision in DECISIONS
            ),
            (eligible & pl.col("decision").is_null()).sum().alias("awaiting_decision"),
            is_reopened().sum().alias("reopened"),
            pl.col("charged_date").is_not_null().sum().alias("charged"),
            pl.col("convicted_date").is_not_null().sum().alias("convicted"),
            pl.col("misconduct_date").is_not_null().sum().alias("misconduct_referrals"),
            pl.col("victim_contacts").sum().alias("victims_contacted"),
            pl.col("acknowledgements").sum().alias("acknowledgements_given"),
        )
        .collect()
        .row(0, named=True)
    )
    figures = {name: int(value or 0) for name, value in row.items()}
    figures["forces_yet_to_refer"] = max(_forces_in_scope(filters) - figures["forces_referring"], 0)
    return {measure: figures[measure] for measure, _ in HEADLINE_MEASURES}


def headline_progress(
    frames: StoreFrames, filters: Filters | None = None, *, since: date | None = None
) -> pl.DataFrame:
    """Each headline figure now and at the end of ``since``, with the change between.

    Columns: ``measure``, ``label``, ``value``, ``value_at_since``, ``change``
    (the last two null when ``since`` is not given). The earlier value counts what was
    stored with a date on or before ``since`` (referrals by ``referral_date``, events by
    ``event_date``); a referral's eligibility and a corrected decision are taken as they
    stand now, since the store keeps their current version.
    """
    now = headline_figures(frames, filters)
    earlier = None
    if since is not None:
        # Filters read only what a referral arrived with (force, region, dates, offence
        # groups, eligibility), never its events, so filtering before rewinding gives
        # the same figures as rewinding the whole store, and rewinds only the view.
        earlier = headline_figures(frames.filtered(filters).up_to(since), filters)
    return pl.DataFrame(
        {
            "measure": [m for m, _ in HEADLINE_MEASURES],
            "label": [label for _, label in HEADLINE_MEASURES],
            "value": [now[m] for m, _ in HEADLINE_MEASURES],
            "value_at_since": [earlier[m] if earlier else None for m, _ in HEADLINE_MEASURES],
        },
        schema={
            "measure": pl.String,
            "label": pl.String,
            "value": pl.Int64,
            "value_at_since": pl.Int64,
        },
    ).with_columns((pl.col("value") - pl.col("value_at_since")).alias("change"))
