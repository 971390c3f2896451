"""A button whose click becomes a command: recorded in the interaction queue, then
acknowledged; the worker applies it. One listener shape for every such button."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from slack_bolt import Ack, BoltRequest

from switchboard.handlers.commands import Command, Notice, Origin
from switchboard.handlers.deps import Deps
from switchboard.handlers.refs import Ref
from switchboard.handlers.slack_requests import NOT_OURS, clicked, origin_of, request_key

R = TypeVar("R", bound=Ref)
Listener = Callable[[Ack, dict[str, Any], BoltRequest], None]


def in_list(body: Mapping[str, Any]) -> bool:
    """Clicked in an ephemeral listing (`/ops alerts`), not in the channel's message."""
    return bool((body.get("container") or {}).get("is_ephemeral"))


def queued_click(
    deps: Deps,
    ref_type: type[R],
    make: Callable[[Origin, R, Mapping[str, Any]], Command | None],
) -> Listener:
    """The listener for a button carrying an `R`: `make` turns the click into its command.

    A value that is not one of ours, or one `make` declines (None), is answered with a notice,
    never trusted: the button's value is a reference, not authority.
    """

    def listener(ack: Ack, body: dict[str, Any], request: BoltRequest) -> None:
        origin = origin_of(body, request.headers, deps.clock)
        ref = clicked(body, ref_type)
        command = make(origin, ref, body) if ref is not None else None
        deps.record(command or Notice(origin=origin, text=NOT_OURS), request_key(body))
        ack()

    return listener
