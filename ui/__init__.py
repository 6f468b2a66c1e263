"""Helpers beside the pages: figure builders (pure Plotly), formatting, and Streamlit glue."""
