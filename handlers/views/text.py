"""Text that goes into Slack: escaping, mentions, times. The one place each rule is written.

Slack reads `&`, `<` and `>` in mrkdwn and in a notification's `text` as markup: `<!channel>`
pings everyone, `<http://x|label>` shows a link under any label. Data from outside (client
and account names, reasons, email text, agent output) is escaped; only mentions the bot
builds itself, from a Slack user id it validated, stay live.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from switchboard.store.slack_ids import CHANNEL_ID_RE, is_user_id


def escape(text: object) -> str:
    """Outside data made inert for mrkdwn and notification text (Slack's three entities)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Currencies whose sign is not read as another's; any other shows its code after the amount.
_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£"}
_CENT = Decimal("0.01")


def money(amount: Decimal, currency: str | None) -> str:
    """`$12,615.00`, `€80.50`, `-$3.00`; `1,234.00 CAD` for a currency without its own sign
    here, and the bare amount when the currency is unknown. Safe for mrkdwn (the code is
    outside data: escaped)."""
    cents = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    sign = "-" if cents < 0 else ""
    digits = f"{abs(cents):,.2f}"
    code = (currency or "").strip()
    if code in _SIGNS:
        return f"{sign}{_SIGNS[code]}{digits}"
    return f"{sign}{digits} {escape(code)}" if code else f"{sign}{digits}"


def mention(user_id: str | None) -> str:
    """A live mention of a person, or the id shown inert if it is not a Slack user id."""
    if is_user_id(user_id):
        return f"<@{user_id}>"
    return escape(user_id or "nobody")


def channel_link(channel_id: str) -> str:
    return f"<#{channel_id}>" if CHANNEL_ID_RE.match(channel_id) else escape(channel_id)


def local_time(moment: datetime | None, tz: ZoneInfo) -> str:
    """`2026-03-16 09:00` in the agency's time zone; empty for no time."""
    return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
