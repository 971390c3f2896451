"""Typed commands: what crosses from the web process to the worker.

The web process turns a Slack request into one of these (what, on which object, by whom,
when asked, where to answer) and records it; the worker validates it back into the same
type and runs the work registered for its kind (`handlers/work.py`). Raw Slack payloads
never cross the process boundary.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from switchboard.handlers.permissions import Rule
from switchboard.store.slack_ids import USER_ID


class Origin(BaseModel):
    """Who asked, when (Slack's own time where it gives one), and where to answer them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str = Field(pattern=USER_ID)
    asked_at: AwareDatetime
    response_url: str | None = Field(default=None, max_length=2000)


class Command(BaseModel):
    """A request to change or read something, on someone's behalf."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ClassVar[str]
    # Who may ask, where that depends on their roles alone (pause an agent: admins): checked
    # before the work runs. Rules that depend on the object (its owner) are the work's own.
    rule: ClassVar[Rule | None] = None
    origin: Origin


class Notice(Command):
    """Tell the person something the web process could not say in its acknowledgement."""

    kind: ClassVar[str] = "notice"
    text: str = Field(max_length=3000)
