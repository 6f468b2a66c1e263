"""Runs and where they live: the run columns (``schema``), the store (``store``, the only module
that speaks to the database), uploads (``ingest``), the published data sets (``published``) and
run selections (``runs``). A new store backend goes beside ``store``, behind the same functions.
"""
