"""Every table, imported in one place so that metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from store.agent_state import AgentState
from store.alerts import Alert
from store.audit import AuditEvent
from store.briefings import BriefingRun
from store.drafts import Approval, Draft
from store.escalations import Escalation
from store.interactions import Interaction
from store.outbox import OutboxMessage
from store.ownership import DomainOwner
from store.source_data import (
    AdAccount,
    Budget,
    Client,
    Exclusion,
    InboundEmail,
    Project,
    SpendDay,
)

metadata = SQLModel.metadata

__all__ = [
    "AdAccount",
    "AgentState",
    "Alert",
    "Approval",
    "AuditEvent",
    "BriefingRun",
    "Budget",
    "Client",
    "DomainOwner",
    "Draft",
    "Escalation",
    "Exclusion",
    "InboundEmail",
    "Interaction",
    "OutboxMessage",
    "Project",
    "SpendDay",
    "metadata",
]
