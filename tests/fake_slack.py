"""The tests' fake Slack is the product's stand-in (`switchboard.bot.slack_standin`)."""

from switchboard.bot.slack_standin import Call, SlackStandIn

FakeSlack = SlackStandIn

__all__ = ["Call", "FakeSlack"]
