"""Risk: the policy that filters BUY signals."""

from __future__ import annotations

from fastapi import APIRouter

from myassistant.api.configdoc_routes import add_config_doc_routes
from myassistant.signals.policy import RISK_POLICY

router = APIRouter(tags=["Risk"])
add_config_doc_routes(router, "/risk/policy", RISK_POLICY, label="risk policy")
