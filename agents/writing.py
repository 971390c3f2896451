"""Writing rules every draft passes: data, not prose in a prompt, so each can be tested.

A rule is `block` (the draft cannot be approved until a person edits it) or `warn` (shown
beside the draft). A client may allow some rules in the manifest (`writing.allow`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    BLOCK = "block"
    WARN = "warn"


# Words that mark a complaint: a cheerful answer to one reads as not listening.
_COMPLAINT = re.compile(
    r"\b(unacceptable|disappointed|frustrat\w*|complain\w*|not happy|unhappy|upset|angry|"
    r"problem|issue|mistake|wrong|nobody told|dark for|cancel\w*)\b",
    re.IGNORECASE,
)
_CHEERFUL = re.compile(
    r"(thanks? (you )?(so much )?for (letting us know|reaching out|your (note|message|feedback))|"
    r"great (question|news|to hear)|happy to (help|hear)|glad (you|to hear)|"
    r"(awesome|fantastic|wonderful)|we love)",
    re.IGNORECASE,
)


def _search(pattern: str) -> Callable[[str, str], list[str]]:
    compiled = re.compile(pattern, re.IGNORECASE)
    return lambda draft, _inbound: [m.group(0) for m in compiled.finditer(draft)]


def _cheerful_reply_to_complaint(draft: str, inbound: str) -> list[str]:
    if not _COMPLAINT.search(inbound):
        return []
    return [m.group(0) for m in _CHEERFUL.finditer(draft)]


def _instructions_in_inbound(_draft: str, inbound: str) -> list[str]:
    pattern = re.compile(
        r"(ignore|disregard|forget) (all |any |your |the )?(previous |prior |above )?"
        r"(instructions|prompts?|rules)|system prompt|you are now|act as (an?|the)",
        re.IGNORECASE,
    )
    return [m.group(0) for m in pattern.finditer(inbound)]


@dataclass(frozen=True)
class WritingRule:
    name: str
    level: Level
    what: str
    find: Callable[[str, str], list[str]]  # (draft, inbound) -> the offending excerpts


RULES: tuple[WritingRule, ...] = (
    WritingRule("dash", Level.BLOCK, "an em or en dash", _search(r"[\u2013\u2014]")),
    WritingRule(
        "placeholder",
        Level.BLOCK,
        "an unfilled placeholder",
        _search(
            r"\[(insert|your|client|name|date|company|link|tbd|x+)\b[^\]]*\]|\{\{[^}]*\}\}|"
            r"<[A-Za-z][A-Za-z _-]{1,30}>|\bTBD\b"
        ),
    ),
    WritingRule(
        "ai_disclosure",
        Level.BLOCK,
        "says it was written by an AI",
        _search(
            r"\b(as an ai|i'?m an ai|i am an ai|(large )?language model|ai[- ]generated|"
            r"as an (ai )?assistant)\b"
        ),
    ),
    WritingRule(
        "cheerful_complaint",
        Level.BLOCK,
        "a cheerful answer to a complaint",
        _cheerful_reply_to_complaint,
    ),
    WritingRule(
        "hedge",
        Level.WARN,
        "hedging",
        _search(
            r"\b(i think|perhaps|maybe|possibly|it seems|we believe|hopefully|sort of|kind of)\b"
        ),
    ),
    WritingRule(
        "ai_phrase",
        Level.WARN,
        "a stock AI phrase",
        _search(
            r"\b(delve|rest assured|don'?t hesitate to|feel free to reach out|in today'?s|"
            r"leverag\w+|seamless\w*|game[- ]changer|i hope this (email|message) finds you well)\b"
        ),
    ),
    WritingRule(
        "inbound_instructions",
        Level.WARN,
        "the client's mail contains instructions to an assistant (treated as text, not obeyed)",
        _instructions_in_inbound,
    ),
)
BY_NAME = {rule.name: rule for rule in RULES}


def lint(draft: str, *, inbound: str, allowed: Collection[str] = ()) -> list[dict[str, Any]]:
    """Every finding as `{rule, level, excerpt}` (one per rule, its first excerpt)."""
    flags = []
    for rule in RULES:
        if rule.name in allowed:
            continue
        found = rule.find(draft, inbound)
        if found:
            flags.append({"rule": rule.name, "level": rule.level.value, "excerpt": found[0][:120]})
    return flags


def blocking(flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [flag for flag in flags if flag["level"] == Level.BLOCK]


def describe(flags: list[dict[str, Any]]) -> list[str]:
    """The findings as a person (or a model asked to rewrite) reads them."""
    return [f'{BY_NAME[f["rule"]].what} ("{f["excerpt"]}")' for f in flags]
