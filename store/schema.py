"""Every table, imported in one place so that metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from switchboard.store.agent_state import AgentRun, AgentState
from switchboard.store.alerts import Alert
from switchboard.store.audit import AuditEvent
from switchboard.store.briefings import BriefingRun
from switchboard.store.drafts import Approval, Draft, EmailTriage
from switchboard.store.escalations import Escalation, EscalationStep
from switchboard.store.import_records import ImportRecord
from switchboard.store.interactions import Interaction
from switchboard.store.jobs import Job
from switchboard.store.outbox import OutboxMessage
from switchboard.store.ownership import DomainOwner
from switchboard.store.runtime_status import RuntimeStatus
from switchboard.store.shadow import ShadowOutput, ShadowReview
from switchboard.store.source_data import (
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
    "AgentRun",
    "AgentState",
    "Alert",
    "Approval",
    "AuditEvent",
    "BriefingRun",
    "Budget",
    "Client",
    "DomainOwner",
    "Draft",
    "EmailTriage",
    "Escalation",
    "EscalationStep",
    "Exclusion",
    "ImportRecord",
    "InboundEmail",
    "Interaction",
    "Job",
    "OutboxMessage",
    "Project",
    "RuntimeStatus",
    "ShadowOutput",
    "ShadowReview",
    "SpendDay",
    "metadata",
]
