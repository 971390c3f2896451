"""Block Kit views: pure functions from domain objects to `slack_sdk.models` objects."""

from switchboard.bot.views.alerts import alert_list, alert_message, alert_worse
from switchboard.bot.views.modals import notice_modal, reassign_modal
from switchboard.bot.views.ops import audit_list, help, owners

__all__ = [
    "alert_list",
    "alert_message",
    "alert_worse",
    "audit_list",
    "help",
    "notice_modal",
    "owners",
    "reassign_modal",
]
