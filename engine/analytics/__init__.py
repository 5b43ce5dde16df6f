"""Analytics for managers: where applications wait, why, and what a redesign would save.

Every report aggregates in the database (SQL with window functions) over the human-task projection,
the instances or the history events; Python only shapes the few aggregated rows. See ``scope`` for the
filters and ``sql`` for the dialect differences between PostgreSQL and SQLite.
"""
