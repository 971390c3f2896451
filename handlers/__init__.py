"""Bolt listeners: parse the payload, authorize, call a store transition, re-render."""

from slack_bolt import App

from switchboard.handlers import alerts, ops, owners
from switchboard.handlers.context import Deps
from switchboard.handlers.deferred import Deferred, Work


def register_all(app: App, deps: Deps) -> dict[str, Work]:
    """Register every listener; returns the deferred work the worker runs, by kind."""
    deferred = Deferred(app, deps)
    for module in (ops, alerts, owners):
        module.register(app, deps, deferred)
    return deferred.work
