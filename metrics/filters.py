"""The filters every figure accepts: forces, regions, referral date range, offence group
and eligibility.

The dashboard keeps a ``Filters`` in the page URL (``to_query_params`` and
``from_query_params``), so a link shows the same figures to whoever opens it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

import polars as pl

Eligibility = Literal["all", "eligible", "ineligible"]
ELIGIBILITY_CHOICES: tuple[str, ...] = get_args(Eligibility)


class InvalidFilter(ValueError):
    """A filter value that cannot be used (an unknown eligibility choice, a bad date)."""


@dataclass(frozen=True)
class Filters:
    """Which referrals a figure counts.

    Empty tuples and ``None`` mean "no restriction". Several forces (or regions, or
    offence groups) mean "any of them". The date range is inclusive and applies to
    ``referral_date``. An offence group selects referrals with at least one offence
    code of that group.
    """

    forces: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    offence_groups: tuple[str, ...] = ()
    eligibility: Eligibility = "all"

    def __post_init__(self) -> None:
        if self.eligibility not in ELIGIBILITY_CHOICES:
            raise InvalidFilter(
                f"eligibility must be one of {', '.join(ELIGIBILITY_CHOICES)}, "
                f"not {self.eligibility!r}"
            )
        for name in ("forces", "regions", "offence_groups"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise InvalidFilter(f"{name} must be a tuple of names, not a single string")
            object.__setattr__(self, name, tuple(value))

    @property
    def is_empty(self) -> bool:
        """True when the filters select every referral."""
        return self == Filters()

    def apply(self, referrals: pl.LazyFrame) -> pl.LazyFrame:
        """The referrals that pass every filter.

        ``referrals`` needs the columns ``force``, ``region``, ``referral_date``,
        ``offence_groups`` (a list of group names) and ``eligible``, as
        ``metrics.frames.load_store`` prepares them.
        """
        conditions: list[pl.Expr] = []
        if self.forces:
            conditions.append(pl.col("force").is_in(list(self.forces)))
        if self.regions:
            conditions.append(pl.col("region").is_in(list(self.regions)))
        if self.date_from is not None:
            conditions.append(pl.col("referral_date") >= self.date_from)
        if self.date_to is not None:
            conditions.append(pl.col("referral_date") <= self.date_to)
        if self.offence_groups:
            wanted = list(self.offence_groups)
            conditions.append(
                pl.col("offence_groups").list.eval(pl.element().is_in(wanted)).list.any()
            )
        if self.eligibility == "eligible":
            conditions.append(pl.col("eligible"))
        elif self.eligibility == "ineligible":
            conditions.append(~pl.col("eligible"))
        if not conditions:
            return referrals
        return referrals.filter(pl.all_horizontal(conditions))

    def to_query_params(self) -> dict[str, str | list[str]]:
        """The filters as URL query parameters (only those that restrict anything)."""
        params: dict[str, str | list[str]] = {}
        if self.forces:
            params["force"] = list(self.forces)
        if self.regions:
            params["region"] = list(self.regions)
        if self.date_from is not None:
            params["from"] = self.date_from.isoformat()
        if self.date_to is not None:
            params["to"] = self.date_to.isoformat()
        if self.offence_groups:
            params["offence_group"] = list(self.offence_groups)
        if self.eligibility != "all":
            params["eligibility"] = self.eligibility
        return params

    @classmethod
    def from_query_params(cls, params: Mapping[str, str | Sequence[str]]) -> Filters:
        """Filters read back from URL query parameters; raises ``InvalidFilter`` on bad values."""

        def many(key: str) -> tuple[str, ...]:
            value = params.get(key)
            if value is None:
                return ()
            values = [value] if isinstance(value, str) else list(value)
            return tuple(v for v in values if v)

        def one(key: str) -> str | None:
            value = params.get(key)
            if value is None or isinstance(value, str):
                return value or None
            return value[-1] if value else None

        def day(key: str) -> date | None:
            text = one(key)
            if text is None:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError as exc:
                raise InvalidFilter(f"{key} must be a date (YYYY-MM-DD), not {text!r}") from exc

        return cls(
            forces=many("force"),
            regions=many("region"),
            date_from=day("from"),
            date_to=day("to"),
            offence_groups=many("offence_group"),
            eligibility=one("eligibility") or "all",  # type: ignore[arg-type]
        )
