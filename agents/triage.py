"""Triage of inbound client mail, before any draft: deterministic rules that always apply.

Mail that is angry, threatens legal action, cancels or leaves, asks for a person, or disputes a
bill goes to a person at once (an escalation with the whole context), and no draft is written:
a cheerful automated reply to an angry client is the failure this exists to prevent. Each
rule has its reason code; a model may add a classification later, on top of these, never
instead of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class TriageRule:
    code: str
    what: str  # for people: "the client is angry"
    next_step: str  # the suggested next step in the handoff
    patterns: tuple[re.Pattern[str], ...]

    def matches(self, text: str) -> bool:
        return any(pattern.search(text) for pattern in self.patterns)


def _words(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)


RULES: tuple[TriageRule, ...] = (
    TriageRule(
        "anger",
        "the client is angry",
        "Call the client today; a person answers this, not an email.",
        _words(
            r"\b(unacceptable|furious|outraged|livid|appalled|disgusted|infuriat\w*)\b",
            r"\b(fed up|sick (and tired )?of|had enough|last straw)\b",
            r"\b(worst|terrible|awful|horrible) (service|agency|experience|work)\b",
            r"\bnobody (told|tells|warned) us\b",
            r"(?-i:\b[A-Z]{3,}(?: [A-Z]{2,}){2,}\b)",  # three shouted words in a row
        ),
    ),
    TriageRule(
        "legal",
        "a legal threat",
        "Bring in whoever handles contracts before anyone replies.",
        _words(
            r"\b(lawyers?|attorneys?|solicitors?|legal action|lawsuit|litigation|legal counsel)\b",
            r"\b(sue|suing) (you|the agency)\b",
            r"\btake (you|this) to court\b",
            r"\b(breach of contract|cease and desist)\b",
        ),
    ),
    TriageRule(
        "cancellation",
        "cancelling or leaving",
        "The account's owner calls to understand why, today, before anything is written.",
        _words(
            r"\bcancel\w* (the|our|this|my) "
            r"(contract|account|agreement|retainer|service|subscription)\b",
            r"\b(terminate|terminating|end|ending) (the|our|this) "
            r"(contract|agreement|relationship|retainer)\b",
            r"\b(moving|switching|going) to (another|a different|a new) agency\b",
            r"\b(won't|will not|not going to) (be )?renew",
            r"\b(giving|serve|serving) (you )?(our )?notice\b",
        ),
    ),
    TriageRule(
        "human_request",
        "asks for a person",
        "Reply personally: they asked for a person.",
        _words(
            r"\b(speak|talk) (to|with) (a|an actual|a real|someone|somebody)( (person|human))?\b",
            r"\b(real|actual|live) (person|human)\b",
            r"\b(your|a) (manager|supervisor|boss)\b",
            r"\bcall me\b",
            r"\bescalate\b",
        ),
    ),
    TriageRule(
        "billing_dispute",
        "disputes a bill",
        "Check the invoice with finance before replying.",
        _words(
            r"\b(overcharged|double[- ]charged|charged (us )?twice|billing error)\b",
            r"\bdispute (the|this|our|your) (invoice|bill|charges?)\b",
            r"\b(invoice|bill|charge) (is|was|looks) (wrong|incorrect)\b",
            r"\b(want|expect|demand|request) a refund\b",
        ),
    ),
)
BY_CODE = {rule.code: rule for rule in RULES}


def triage(subject: str, body: str) -> list[str]:
    """The reason codes that send this mail to a person; empty: a draft may be written."""
    text = f"{subject}\n{body}"
    return [rule.code for rule in RULES if rule.matches(text)]
