"""Thresholds for ``beaconport check`` and the data-quality scores, in one place.

Every value has a default here. A deployment overrides them, in this order (later wins):

1. a TOML file named by ``BEACONPORT_QUALITY_CONFIG`` (keys as the field names below,
   at the top level or under a ``[quality]`` table);
2. one environment variable per field, ``BEACONPORT_QUALITY_<FIELD>`` in capitals,
   e.g. ``BEACONPORT_QUALITY_STALE_DAYS=120``.

docs/data-quality.md explains what each value means to a data steward.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

CONFIG_FILE_ENV = "BEACONPORT_QUALITY_CONFIG"
ENV_PREFIX = "BEACONPORT_QUALITY_"


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds for the stored-data checks and the quality scores (see docs/data-quality.md)."""

    #: An eligible referral still awaiting a decision is *stale* after this many days
    #: without an event (counted back from the latest date in the store).
    stale_days: int = 90
    #: A force's share of ineligible (or quarantined) rows is implausible when its
    #: binomial z-score against the national share is beyond plus or minus this.
    plausibility_z: float = 3.0
    #: Forces with fewer rows than this are not judged for plausibility.
    plausibility_min_rows: int = 20
    #: A month's referrals are a sudden jump when more than this many times the median
    #: of the force's previous months (up to six months that had referrals).
    volume_jump_factor: float = 3.0
    #: Months with fewer referrals than this are never called a jump.
    volume_min_referrals: int = 10
    #: A jump is judged only against at least this many previous months with referrals.
    volume_min_months: int = 3
    #: Timeliness: a referral's first event is on time within this many days.
    first_event_days: int = 28
    #: Lowest overall score (0-100) for each grade; below ``grade_d`` is grade E.
    grade_a: float = 95.0
    grade_b: float = 90.0
    grade_c: float = 80.0
    grade_d: float = 70.0

    def grade(self, score: float | None) -> str | None:
        """The letter grade (A best, E worst) for an overall score; None when no score."""
        if score is None:
            return None
        for letter, floor in (
            ("A", self.grade_a),
            ("B", self.grade_b),
            ("C", self.grade_c),
            ("D", self.grade_d),
        ):
            if score >= floor:
                return letter
        return "E"


def _coerce(kind: type, name: str, value: object) -> object:
    try:
        return kind(value)  # type: ignore[call-arg]
    except (TypeError, ValueError):
        raise ValueError(f"quality setting {name}: {value!r} is not a {kind.__name__}") from None


def load_quality_config(path: Path | str | None = None) -> QualityConfig:
    """The thresholds: defaults, then the TOML file (``path`` or $BEACONPORT_QUALITY_CONFIG), then env."""
    config = QualityConfig()
    kinds = {f.name: type(getattr(config, f.name)) for f in fields(config)}
    source = path or os.environ.get(CONFIG_FILE_ENV)
    changes: dict[str, object] = {}
    if source:
        with open(source, "rb") as fh:
            data = tomllib.load(fh)
        data = data.get("quality", data)
        unknown = sorted(set(data) - set(kinds))
        if unknown:
            raise ValueError(f"{source}: unknown quality setting(s): {', '.join(unknown)}")
        changes.update({k: _coerce(kinds[k], k, v) for k, v in data.items()})
    for name, kind in kinds.items():
        value = os.environ.get(ENV_PREFIX + name.upper())
        if value not in (None, ""):
            changes[name] = _coerce(kind, name, value)
    return replace(config, **changes)  # type: ignore[arg-type]
