"""`/ops brief`: a preview of today's briefing for the caller alone; `/ops brief post`
(admins) posts it now, still once per channel and day."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from switchboard.agents.briefing import compose
from switchboard.handlers.briefing_posts import post_briefing
from switchboard.handlers.commands import Command, Origin
from switchboard.handlers.ops import Subcommand, UsageError
from switchboard.handlers.permissions import POST_BRIEFING, Rule
from switchboard.handlers.views.briefing import briefing_view
from switchboard.handlers.views.text import channel_link, local_time
from switchboard.handlers.work import Reply, Work, WorkContext, refuse, registry, say
from switchboard.store import briefings
from switchboard.store.manifest import AgencyManifest


class PreviewBriefing(Command):
    kind: ClassVar[str] = "ops.brief"


class PostBriefing(Command):
    kind: ClassVar[str] = "ops.brief.post"
    rule: ClassVar[Rule | None] = POST_BRIEFING


def _parse(args: Sequence[str], _manifest: AgencyManifest, origin: Origin) -> Command:
    if not args:
        return PreviewBriefing(origin=origin)
    if [a.lower() for a in args] == ["post"]:
        return PostBriefing(origin=origin)
    raise UsageError("`/ops brief` previews today's briefing; `/ops brief post` posts it")


def preview(ctx: WorkContext, command: PreviewBriefing) -> list[Reply]:
    day = ctx.manifest.today(command.origin.asked_at)
    view = briefing_view(compose(ctx.session, ctx.manifest, day=day, now=ctx.now))
    # The preview is the channel's message; what would go to the thread is said, not shown.
    replies = [Reply(view.main)]
    if view.thread:
        replies += say(f"The thread would hold {len(view.thread)} more message(s) and the chart.")
    return replies


def post(ctx: WorkContext, command: PostBriefing) -> list[Reply]:
    day = ctx.manifest.today(command.origin.asked_at)
    where = channel_link(ctx.manifest.channels.briefing)
    posted = post_briefing(
        ctx.session, ctx.manifest, day=day, now=ctx.now, actor=command.origin.user
    )
    if posted is None:
        earlier = briefings.posted(ctx.session, channel=ctx.manifest.channels.briefing, day=day)
        at = local_time(earlier.created_at, ctx.tz) if earlier else "earlier"
        return refuse(f"Today's briefing was already posted in {where} ({at}); once a day.")
    return say(f"Posting today's briefing in {where}.")


WORK = registry(Work(PreviewBriefing, preview), Work(PostBriefing, post))
SUBCOMMANDS = (
    Subcommand(
        "brief [post]",
        "preview today's briefing (only you see it); `post` posts it now, once a day (admins)",
        _parse,
    ),
)
