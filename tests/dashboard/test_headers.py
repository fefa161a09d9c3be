"""Plain headers for the tables beside the charts (dashboard/components/headers.py)."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.components.headers import HEADERS, plain_headers

pytestmark = pytest.mark.unit


def test_known_columns_are_renamed_and_the_rest_kept_in_order() -> None:
    table = pl.DataFrame(
        {"force": ["Kent Police"], "nfa_upheld": [3], "Rape": [1], "per_100k": [0.2]}
    )
    shown = plain_headers(table)
    assert shown.columns == ["Force", "No further action upheld", "Rape", "Per 100,000 people"]
    assert shown.row(0) == ("Kent Police", 3, 1, 0.2)


def test_overrides_win_over_the_defaults() -> None:
    table = pl.DataFrame({"label": ["Lines of inquiry not followed"], "referrals": [7]})
    assert plain_headers(table).columns == ["Description", "Referrals"]
    assert plain_headers(table, {"label": "Theme"}).columns == ["Theme", "Referrals"]


def test_every_header_is_for_readers_and_no_two_collide() -> None:
    for header in HEADERS.values():
        assert "_" not in header, header
        assert header[0].isupper() or header[0] in "%9", header
    assert len(set(HEADERS.values())) == len(HEADERS)
