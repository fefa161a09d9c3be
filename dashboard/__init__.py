"""The user-facing layer: the command line and the Streamlit dashboard."""
