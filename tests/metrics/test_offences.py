"""Offence groups and codes on the hand-made store, worked out by hand."""

from __future__ import annotations

import pytest

from metrics.filters import Filters
from metrics.frames import StoreFrames
from metrics.offences import (
    offence_groups_by_crime_year,
    offence_groups_by_force,
    referrals_by_offence_code,
    referrals_by_offence_group,
)


def test_referrals_by_offence_group(hand_frames: StoreFrames) -> None:
    table = referrals_by_offence_group(hand_frames)
    # Rape: refs 1, 4, 6; other contact: 2, 5; exploitation: 1; non-contact: 3, 4
    assert table.select("offence_group", "referrals").rows() == [
        ("Rape", 3),
        ("Other contact sexual offence", 2),
        ("Exploitation and trafficking", 1),
        ("Non-contact sexual offence", 2),
    ]
    assert table["share"].to_list() == pytest.approx([3 / 6, 2 / 6, 1 / 6, 2 / 6])


def test_referrals_by_offence_code(hand_frames: StoreFrames) -> None:
    table = referrals_by_offence_code(hand_frames)
    counts = dict(table.select("code", "referrals").rows())
    assert table.height == 23
    assert {c: n for c, n in counts.items() if n} == {
        "19C": 1,
        "19D": 1,
        "19E": 1,
        "17A": 1,
        "20A": 1,
        "71": 1,
        "86": 1,
        "88A": 1,
    }


def test_offence_groups_by_force(hand_frames: StoreFrames) -> None:
    table = offence_groups_by_force(hand_frames, Filters(forces=("Durham Constabulary",)))
    # Durham: ref 3 (88A), ref 4 (19D, 86)
    assert table.select("offence_group", "referrals", "force_referrals").rows() == [
        ("Rape", 1, 2),
        ("Other contact sexual offence", 0, 2),
        ("Exploitation and trafficking", 0, 2),
        ("Non-contact sexual offence", 2, 2),
    ]


def test_offence_groups_by_crime_year(hand_frames: StoreFrames) -> None:
    table = offence_groups_by_crime_year(hand_frames, Filters(offence_groups=("Rape",)))
    # rape referrals: 1 (2015), 4 (2009), 6 (2018)
    rape = table.filter(table["offence_group"] == "Rape")
    assert rape.select("crime_year", "referrals", "year_referrals").rows() == [
        (2009, 1, 1),
        (2015, 1, 1),
        (2018, 1, 1),
    ]
    # ref 1 in 2015 also carries 71 (exploitation)
    assert table.filter(table["crime_year"] == 2015)["referrals"].to_list() == [1, 0, 1, 0]
