"""`/ops check`: the coordination score of the manifest the bot runs with.

Read-only and open to anyone, like the other listings. The bot's manifest passed the strict
checks at start, so every problem left in it is a gap (`agents/coordination.py`).
"""

from __future__ import annotations

from typing import ClassVar

from switchboard.agents.coordination import coordination
from switchboard.handlers.commands import Command
from switchboard.handlers.ops import Subcommand, no_arguments
from switchboard.handlers.views.check import coordination_report
from switchboard.handlers.work import Reply, Work, WorkContext, registry


class CheckManifest(Command):
    kind: ClassVar[str] = "ops.check"


def check_manifest(ctx: WorkContext, _command: CheckManifest) -> list[Reply]:
    result = coordination(ctx.manifest.model_dump(mode="json"), now=ctx.now)
    return [Reply(coordination_report(result))]


WORK = registry(Work(CheckManifest, check_manifest))
SUBCOMMANDS = (
    Subcommand(
        "check",
        "the manifest's coordination score out of 100, each gap with its fix",
        no_arguments(CheckManifest),
    ),
)
