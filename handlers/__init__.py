"""Bolt listeners and the work behind them: parse, authorize, transition, re-render.

The package itself imports nothing, so a view (`handlers.views`) loads without Bolt; the
tables of all commands and the Bolt wiring are in `handlers.registry`.
"""
