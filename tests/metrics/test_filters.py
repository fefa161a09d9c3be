"""Filters: which referrals pass, and the round trip through URL query parameters."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from metrics.filters import Filters, InvalidFilter

pytestmark = pytest.mark.unit

REFERRALS = pl.LazyFrame(
    {
        "id": [1, 2, 3, 4],
        "force": ["Kent Police", "Kent Police", "Durham Constabulary", "Cleveland Police"],
        "region": ["South East", "South East", "North East", "North East"],
        "referral_date": [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)],
        "offence_groups": [
            ["Rape"],
            ["Non-contact sexual offence"],
            ["Rape", "Exploitation and trafficking"],
            [],
        ],
        "eligible": [True, False, True, False],
    }
)


def ids(filters: Filters) -> list[int]:
    return sorted(filters.apply(REFERRALS).collect()["id"].to_list())


def test_filters_apply_each_restriction() -> None:
    assert ids(Filters()) == [1, 2, 3, 4]
    assert ids(Filters(forces=("Kent Police",))) == [1, 2]
    assert ids(Filters(regions=("North East",))) == [3, 4]
    # inclusive on both ends
    assert ids(Filters(date_from=date(2025, 2, 1), date_to=date(2025, 3, 1))) == [2, 3]
    # at least one code of the group
    assert ids(Filters(offence_groups=("Rape",))) == [1, 3]
    assert ids(
        Filters(offence_groups=("Exploitation and trafficking", "Non-contact sexual offence"))
    ) == [2, 3]
    assert ids(Filters(eligibility="eligible")) == [1, 3]
    assert ids(Filters(eligibility="ineligible")) == [2, 4]
    assert ids(
        Filters(regions=("North East",), eligibility="eligible", offence_groups=("Rape",))
    ) == [3]


def test_filters_round_trip_through_query_params() -> None:
    filters = Filters(
        forces=("Kent Police", "Durham Constabulary"),
        regions=("South East",),
        date_from=date(2025, 1, 1),
        date_to=date(2025, 3, 31),
        offence_groups=("Rape",),
        eligibility="eligible",
    )
    params = filters.to_query_params()
    assert params["from"] == "2025-01-01" and params["eligibility"] == "eligible"
    assert Filters.from_query_params(params) == filters
    assert Filters().to_query_params() == {}
    assert Filters.from_query_params({}).is_empty
    # a single value, as a URL with one force gives it
    assert Filters.from_query_params({"force": "Kent Police"}).forces == ("Kent Police",)


def test_filters_reject_bad_values() -> None:
    with pytest.raises(InvalidFilter):
        Filters(eligibility="maybe")  # type: ignore[arg-type]
    with pytest.raises(InvalidFilter):
        Filters.from_query_params({"from": "01/13/2025"})
    with pytest.raises(InvalidFilter):
        Filters(forces="Kent Police")  # type: ignore[arg-type]
