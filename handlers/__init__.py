"""Bolt listeners: parse the payload, authorize, call a store transition, re-render."""

from slack_bolt import App

from handlers import alerts, ops, owners
from handlers.context import Deps


def register_all(app: App, deps: Deps) -> None:
    for module in (ops, alerts, owners):
        module.register(app, deps)
