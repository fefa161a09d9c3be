"""The ingestion gate and the data-quality suites (Great Expectations)."""
