"""FLOPwise engine: efficiency laws, counting, optimisation and the run store.

Never imports streamlit or plotly (tests/unit/test_engine_isolation.py proves it).
"""
