"""Reference data, schema, store, pipelines, disclosure control and synthetic data.

This package never imports Streamlit, Great Expectations or the other Beaconport
packages: it is the bottom layer.
"""
