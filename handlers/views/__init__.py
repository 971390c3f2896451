"""Block Kit views: pure functions from domain objects to `slack_sdk.models` objects.

Listeners and publishing import the module they need (`handlers.views.alerts`, ...); every
view returns a `Message` or a `View`, validated by slack_sdk and within Slack's limits
(`limits.py`).
"""
