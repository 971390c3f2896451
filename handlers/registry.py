"""The tables of everything handlers do, and the Bolt wiring.

`WORK` is the work the worker runs for each kind of command, `OPS` the `/ops` command table.
`register_all` wires the listeners into a Bolt app for the web process; the worker needs only
`WORK`.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from switchboard.handlers import (
    alerts,
    autonomy,
    briefing,
    check,
    drafts,
    escalations,
    ops,
    owners,
)
from switchboard.handlers.deps import Deps
from switchboard.handlers.ops import Subcommand
from switchboard.handlers.work import NOTICES, Work, combine

WORK: dict[str, Work[Any]] = combine(
    NOTICES,
    alerts.WORK,
    owners.WORK,
    ops.WORK,
    escalations.WORK,
    drafts.WORK,
    autonomy.WORK,
    briefing.WORK,
    check.WORK,
)
OPS: tuple[Subcommand, ...] = (
    *ops.SUBCOMMANDS,
    *escalations.SUBCOMMANDS,
    *drafts.SUBCOMMANDS,
    *owners.SUBCOMMANDS,
    *autonomy.SUBCOMMANDS,
    *briefing.SUBCOMMANDS,
    *check.SUBCOMMANDS,
)


def register_all(app: App, deps: Deps) -> None:
    ops.register(app, deps, OPS)
    alerts.register(app, deps)
    owners.register(app, deps)
    escalations.register(app, deps)
    drafts.register(app, deps)
    autonomy.register(app, deps)
