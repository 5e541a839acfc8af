"""The stored risk policy."""

from __future__ import annotations

from sqlalchemy.orm import Session

from myassistant.core import configdocs
from myassistant.signals.risk import RiskPolicy

RISK_POLICY = configdocs.register("risk_policy", RiskPolicy)


def current(session: Session) -> RiskPolicy:
    return configdocs.get(session, RISK_POLICY).value
