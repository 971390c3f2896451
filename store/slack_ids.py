"""Slack's id formats, in one place: checked wherever an id comes from outside (the
manifest, CSV files, request payloads) and before a mention is made live."""

from __future__ import annotations

import re

USER_ID = r"^[UW][A-Z0-9]{2,31}$"
CHANNEL_ID = r"^[CGD][A-Z0-9]{2,31}$"
# How Slack writes a mention in command text: <@U123|name> (should_escape) or <@U123>.
MENTION = r"^<@([UW][A-Z0-9]{2,31})(?:\|[^>]*)?>$"

USER_ID_RE = re.compile(USER_ID)
CHANNEL_ID_RE = re.compile(CHANNEL_ID)
MENTION_RE = re.compile(MENTION)


def is_user_id(text: object) -> bool:
    return isinstance(text, str) and USER_ID_RE.match(text) is not None
