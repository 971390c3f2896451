"""What web listeners are given: the store (reads), the manifest, a clock, and the two ways
a request's work gets done.

`record` queues a command for the worker and returns False for a request seen before (a
replay or a retry), which changes nothing. `apply_now` runs a command at once, for a
modal's submission whose answer is its acknowledgement; it returns None for a request
seen before. `bot/app.py` wires both to the interaction queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from switchboard.handlers.commands import Command
from switchboard.handlers.work import Reply
from switchboard.store.manifest import AgencyManifest

Record = Callable[[Command, str | None], bool]
ApplyNow = Callable[[Command, str | None], Sequence[Reply] | None]


@dataclass(frozen=True)
class Deps:
    engine: Engine
    manifest: AgencyManifest
    clock: Callable[[], datetime]
    record: Record
    apply_now: ApplyNow

    @property
    def tz(self) -> ZoneInfo:
        return self.manifest.tz
