"""The headline report: ``beaconport report --json`` exactly as the data contract
specifies, built from the metric functions so the command line, the dashboard and the
exports agree.

With ``suppress=True`` the contract's disclosure rule is applied (``metrics.disclosure``)
and the JSON keeps the same keys and shape; a count that may not be shown becomes a
string: ``"<5"`` (a count from 1 to threshold - 1) or ``"withheld"`` (secondary
suppression: hidden so that a small count cannot be worked out by subtraction), and a
rate or median built on a suppressed count becomes ``"withheld"``. One key is added,
``"disclosure_control": {"applied": true, "threshold": n}``, so a reader can tell the
two forms apart. In detail:

- ``referrals``, ``eligible`` and ``ineligible`` and ``by_force``'s ``referrals`` and
  ``eligible`` are one table: forces by eligible and ineligible (ineligible is each
  force's referrals less its eligible ones, so it is protected though not printed per
  force), with each force's referrals as row totals and the headline figures as its
  column totals and grand total. It is protected as a whole, and the headline figures
  printed are that table's totals, so no hidden count can be recovered by subtracting
  across the headline and the forces.
- ``rape_referrals`` and ``by_force``'s ``rape_referrals`` are a column and its total,
  protected together in the same way.
- The four ``decisions`` are the parts of ``eligible``, suppressed together (and one
  more is withheld when ``eligible`` is hidden and the rest would add up to it).
- ``charged``, ``convicted``, ``misconduct_referrals``, ``quarantined_rows`` and each
  learning theme stand alone (no published total they are a part of; themes overlap)
  and get primary suppression only.
- ``forces_referring`` counts forces, not cases or people, and is shown as it is.
- ``per_100k`` is withheld where the force's referral count is hidden.
- ``median_days_referral_to_decision`` is withheld when fewer than ``threshold``
  referrals have a decision.
- Last, the whole report is audited as one linked set (``metrics.disclosure_links``):
  what a reader can also use, that a force has no more rape referrals than referrals,
  that the decisions add up to the eligible total, that a median shown means at least
  ``threshold`` decisions, that charged and the like are within the referrals, could
  still pin a small count that each table protects on its own. Where it would, more
  figures are withheld (a force's before a national one, the smallest first) until
  none is pinned, worked out exactly by integer programming.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Engine

from metrics.filters import Filters
from metrics.frames import AWAITING_DECISION, DECISIONS, StoreFrames, load_store
from metrics.progress import headline_figures
from metrics.themes import referrals_with_theme
from metrics.volumes import referrals_by_force

if TYPE_CHECKING:
    from metrics.disclosure import DisclosureConfig

#: The top-level keys of ``report --json``, in the contract's order.
REPORT_KEYS: tuple[str, ...] = (
    "as_at",
    "referrals",
    "forces_referring",
    "rape_referrals",
    "eligible",
    "ineligible",
    "quarantined_rows",
    "decisions",
    "charged",
    "convicted",
    "misconduct_referrals",
    "learning_themes",
    "median_days_referral_to_decision",
    "by_force",
)
DECISION_KEYS: tuple[str, ...] = (*DECISIONS, AWAITING_DECISION)


def _frames(source: StoreFrames | Engine) -> StoreFrames:
    return source if isinstance(source, StoreFrames) else load_store(source)


def _median_days(frames: StoreFrames, filters: Filters | None) -> tuple[float | None, int]:
    """The median days from referral to decision and how many referrals it is over."""
    view = frames.filtered(filters)
    row = (
        view.referrals.filter(pl.col("eligible") & pl.col("decision").is_not_null())
        .select(
            (pl.col("decision_date") - pl.col("referral_date"))
            .dt.total_days()
            .median()
            .cast(pl.Float64)
            .alias("median"),
            pl.len().alias("n"),
        )
        .collect()
        .row(0)
    )
    return (None if row[0] is None else float(row[0])), int(row[1])


def build_report(
    source: StoreFrames | Engine,
    *,
    suppress: bool = False,
    threshold: int = 5,
    filters: Filters | None = None,
) -> dict[str, Any]:
    """The contract's ``report --json`` object (see the module docstring for
    ``suppress``).

    Counting rules, from the contract: ``referrals`` counts stored referrals (eligible
    plus ineligible); ``forces_referring`` forces with at least one; ``rape_referrals``
    referrals with a code where ``rape = true``; ``quarantined_rows`` quarantined rows
    of both feeds still open; ``decisions`` eligible referrals by their current
    decision, ``awaiting_decision`` those with none; ``charged``, ``convicted`` and
    ``misconduct_referrals`` referrals (eligible or not) with at least one such event;
    ``learning_themes`` every theme code, referrals with at least one event of it;
    ``median_days_referral_to_decision`` over eligible referrals with a decision, null
    when none; ``by_force`` one entry per force with a referral, sorted by name,
    ``per_100k`` rounded to one decimal place and null below 100,000 residents;
    ``as_at`` the latest referral or event date stored, null when nothing is.
    """
    frames = _frames(source)
    figures = headline_figures(frames, filters)
    median, decided = _median_days(frames, filters)
    by_force = referrals_by_force(frames, filters).with_columns(
        pl.col("per_100k").round(1, mode="half_away_from_zero")
    )
    report: dict[str, Any] = {
        "as_at": frames.as_at.isoformat() if frames.as_at else None,
        "referrals": figures["referrals"],
        "forces_referring": figures["forces_referring"],
        "rape_referrals": figures["rape_referrals"],
        "eligible": figures["eligible"],
        "ineligible": figures["ineligible"],
        "quarantined_rows": frames.open_quarantined_rows,
        "decisions": {key: figures[key] for key in DECISION_KEYS},
        "charged": figures["charged"],
        "convicted": figures["convicted"],
        "misconduct_referrals": figures["misconduct_referrals"],
        "learning_themes": referrals_with_theme(frames, filters),
        "median_days_referral_to_decision": median,
        "by_force": [
            {
                "force": row["force"],
                "referrals": row["referrals"],
                "rape_referrals": row["rape_referrals"],
                "eligible": row["eligible"],
                "per_100k": row["per_100k"],
            }
            for row in by_force.iter_rows(named=True)
        ],
    }
    if not suppress:
        return report
    return suppress_report(report, threshold=threshold, decided=decided)


def suppress_report(report: dict[str, Any], *, threshold: int = 5, decided: int) -> dict[str, Any]:
    """The report with the contract's disclosure rule applied (see the module docstring);
    ``decided`` is the number of referrals the median is taken over."""
    from metrics.disclosure import (
        WITHHELD,
        DisclosureConfig,
        apply_disclosure_control,
        one_more_to_withhold,
        suppress_count,
        suppress_parts,
    )

    cfg = DisclosureConfig(threshold)
    out = dict(report)
    # Eligible and ineligible split each force's referrals, and the headline publishes
    # all three totals: one table, forces by (eligible, ineligible) with row totals (each
    # force's referrals) and column totals (the headline figures), protected together.
    # The headline figures are that table's totals, so they never undo its pattern.
    forces = pl.DataFrame(
        report["by_force"],
        schema={
            "force": pl.String,
            "referrals": pl.Int64,
            "rape_referrals": pl.Int64,
            "eligible": pl.Int64,
            "per_100k": pl.Float64,
        },
    )
    if forces.height == 0:  # nothing stored: one empty row, so the totals are zeros
        forces = pl.DataFrame(
            {"force": [""], "referrals": [0], "rape_referrals": [0], "eligible": [0]},
            schema={k: v for k, v in forces.schema.items() if k != "per_100k"},
        ).with_columns(pl.lit(None, dtype=pl.Float64).alias("per_100k"))
    split = apply_disclosure_control(
        forces.select(
            "force",
            "eligible",
            (pl.col("referrals") - pl.col("eligible")).alias("ineligible"),
            "referrals",
            "per_100k",
        ),
        ["eligible", "ineligible"],
        cfg=cfg,
        totals="both",
        total_column="referrals",
        rate_columns={"per_100k": ["referrals"]},
    )
    # Rape referrals: a column whose total is the headline figure.
    rape = apply_disclosure_control(
        forces.select("force", "rape_referrals"), ["rape_referrals"], cfg=cfg, totals="column"
    )
    out["referrals"] = split.totals["referrals"].json_value
    out["eligible"] = split.totals["eligible"].json_value
    out["ineligible"] = split.totals["ineligible"].json_value
    out["rape_referrals"] = rape.totals["rape_referrals"].json_value
    decisions, _ = suppress_parts(report["decisions"], total=report["eligible"], cfg=cfg)
    decision_values = {k: f.json_value for k, f in decisions.items()}
    if split.totals["eligible"].value is None:
        # Eligible is hidden: if every decision were shown, their sum would give it away.
        keys = sorted(decisions)
        extra = one_more_to_withhold([decisions[k].value for k in keys])
        if extra is not None:
            decision_values[keys[extra]] = WITHHELD
    out["decisions"] = decision_values
    for key in ("charged", "convicted", "misconduct_referrals", "quarantined_rows"):
        out[key] = suppress_count(report[key], cfg)
    out["learning_themes"] = {
        k: suppress_count(v, cfg) for k, v in report["learning_themes"].items()
    }
    if report["median_days_referral_to_decision"] is not None and cfg.is_primary(decided):
        out["median_days_referral_to_decision"] = WITHHELD
    if report["by_force"]:
        out["by_force"] = [
            {
                "force": s["force"],
                "referrals": s["referrals"],
                "rape_referrals": r["rape_referrals"],
                "eligible": s["eligible"],
                "per_100k": s["per_100k"],
            }
            for s, r in zip(split.to_records(), rape.to_records(), strict=True)
        ]
    _protect_as_one(report, out, cfg)
    out["disclosure_control"] = {"applied": True, "threshold": threshold}
    return out


def _protect_as_one(report: dict[str, Any], out: dict[str, Any], cfg: DisclosureConfig) -> None:
    """Audit the suppressed report ``out`` as one linked set and withhold more of it
    where the links between its tables would pin a small count
    (``metrics.disclosure_links``): a force's rape referrals within its referrals, the
    decisions adding up to the eligible total, the median shown only over ``threshold``
    or more decisions (so whether it is shown bounds their sum), and the stand-alone
    counts within the referrals. A force whose referrals become withheld has its rate
    per 100,000 withheld too."""
    from metrics.disclosure import WITHHELD
    from metrics.disclosure_links import (
        LinkedFigures,
        at_most,
        protect_linked,
        sum_between,
        sums_to,
    )

    values: dict[str, int] = {}
    shown: dict[str, Any] = {}
    links = []

    def figure(name: str, value: int, printed: Any) -> str:
        values[name], shown[name] = value, printed
        return name

    headline = {
        k: figure(k, report[k], out[k])
        for k in ("referrals", "eligible", "ineligible", "rape_referrals")
    }
    links.append(sums_to([headline["eligible"], headline["ineligible"]], headline["referrals"]))
    per_force: list[dict[str, str]] = []
    for raw, printed in zip(report["by_force"], out["by_force"], strict=True):
        f = f"force {raw['force']}: "
        names = {
            "referrals": figure(f + "referrals", raw["referrals"], printed["referrals"]),
            "eligible": figure(f + "eligible", raw["eligible"], printed["eligible"]),
            # not printed, but each force's referrals less its eligible ones
            "ineligible": figure(f + "ineligible", raw["referrals"] - raw["eligible"], None),
            "rape_referrals": figure(
                f + "rape_referrals", raw["rape_referrals"], printed["rape_referrals"]
            ),
        }
        links.append(sums_to([names["eligible"], names["ineligible"]], names["referrals"]))
        links.append(at_most(names["rape_referrals"], names["referrals"]))
        per_force.append(names)
    if per_force:
        for column, total in headline.items():
            links.append(sums_to([names[column] for names in per_force], total))
    decision = {
        k: figure(f"decisions {k}", report["decisions"][k], out["decisions"][k])
        for k in report["decisions"]
    }
    links.append(sums_to(list(decision.values()), headline["eligible"]))
    made = [decision[k] for k in decision if k != "awaiting_decision"]
    median = out["median_days_referral_to_decision"]
    if median is None:
        links.append(sum_between(made, 0, 0))
    elif median == WITHHELD:
        links.append(sum_between(made, 1, cfg.threshold - 1))
    else:
        links.append(sum_between(made, cfg.threshold, float("inf")))
    alone = [
        figure(k, report[k], out[k]) for k in ("charged", "convicted", "misconduct_referrals")
    ] + [
        figure(f"learning theme {k}", v, out["learning_themes"][k])
        for k, v in report["learning_themes"].items()
    ]
    links.extend(at_most(name, headline["referrals"]) for name in alone)
    # Withhold a force's figure before a national one, the smallest first.
    candidates = sorted(
        (name for names in per_force for name in names.values()), key=lambda n: values[n]
    )
    candidates += sorted(decision.values(), key=lambda n: values[n])
    candidates += sorted(headline.values(), key=lambda n: values[n])
    # When nothing of five or more will do (a report of very few cases), small figures
    # go too, totals first, as metrics.disclosure withholds a small total that would
    # pin its parts: a withheld figure then says nothing of its size.
    last_resort = list(headline.values())
    last_resort += [
        names[c] for c in ("referrals", "eligible", "rape_referrals") for names in per_force
    ]
    last_resort += list(decision.values())
    result = protect_linked(LinkedFigures(values, shown, links), candidates, cfg, last_resort)
    for k, name in headline.items():
        out[k] = result[name]
    out["decisions"] = {k: result[name] for k, name in decision.items()}
    for row, names in zip(out["by_force"], per_force, strict=True):
        for column in ("referrals", "eligible", "rape_referrals"):
            row[column] = result[names[column]]
        if not isinstance(row["referrals"], int) and row["per_100k"] is not None:
            row["per_100k"] = WITHHELD
