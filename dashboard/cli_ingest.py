"""``beaconport ingest``, ``seed``, ``report`` and ``dashboard`` (to be filled in)."""
