"""Correct an export of quarantined SYNTHETIC rows from the seed's record of corrections.

A steward corrects an export by hand; for synthetic data the right values are known, so
this script does it, to test the repair route end to end (docs/data-quality.md):

    beaconport seed --error-rate 0.05 --out seed/
    beaconport quarantine export q.csv --feed referrals
    python scripts/repair_from_corrections.py seed/SYNTHETIC-corrections.json q.csv fixed.csv
    beaconport quarantine repair fixed.csv --feed referrals
    (then the same for --feed events)

Each exported line is matched to the record by (feed, source_file, source_row) and its
contract columns are replaced by the recorded correct values. Lines the record does not
know are written unchanged (and counted). Events quarantined only because their
referral was quarantined are in the record with their values unchanged: loading them
again after the referrals are repaired is enough.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

FEEDS = ("referrals", "events")


def load_corrections(path: Path) -> dict[tuple[str, str, int], dict[str, str]]:
    """(feed, file name, spreadsheet row) -> the row's correct cells."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return {
        (r["feed"], Path(r["file"]).name, int(r["row"])): {
            k: "" if v is None else str(v) for k, v in r["correct"].items()
        }
        for r in document["rows"]
    }


def correct_export(
    corrections: dict[tuple[str, str, int], dict[str, str]], export: Path, out: Path, feed: str
) -> tuple[int, int]:
    """Write ``out``: ``export`` with its contract cells replaced; (lines corrected, lines unknown)."""
    with export.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
        fieldnames = list(rows[0].keys()) if rows else []
    fixed = unknown = 0
    for row in rows:
        key = (feed, Path(row["source_file"]).name, int(row["source_row"]))
        correct = corrections.get(key)
        if correct is None:
            unknown += 1
            continue
        for column, value in correct.items():
            if column in row:
                row[column] = value
        fixed += 1
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fieldnames)
        w.writeheader()
        w.writerows(rows)
    return fixed, unknown


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corrections", type=Path, help="SYNTHETIC-corrections.json from the seed")
    p.add_argument("export", type=Path, help="a `beaconport quarantine export` CSV file")
    p.add_argument("out", type=Path, help="where to write the corrected CSV file")
    p.add_argument(
        "--feed", choices=FEEDS, default=None, help="the export's feed (default: guessed)"
    )
    args = p.parse_args(argv)
    with args.export.open(newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh), [])
    feed = args.feed or ("events" if "event" in header else "referrals")
    fixed, unknown = correct_export(load_corrections(args.corrections), args.export, args.out, feed)
    print(f"{args.out}: {fixed} line(s) corrected, {unknown} not in the record", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
