"""Notify: the Telegram config and a test message."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from myassistant.api.deps import DatabaseDep, SessionDep, SettingsDep
from myassistant.notify import service
from myassistant.notify.schemas import NotifyConfigRead, NotifyConfigUpdate, NotifyTestResult

router = APIRouter(tags=["Notify"])


def get_client_factory() -> service.ClientFactory:
    """How `/notify/test` builds its Telegram client (tests override this dependency)."""
    return service.default_client_factory


ClientFactoryDep = Annotated[service.ClientFactory, Depends(get_client_factory)]


@router.get("/notify/config", response_model=NotifyConfigRead)
def get_config(session: SessionDep, settings: SettingsDep) -> NotifyConfigRead:
    """The notify config; the token is masked (first 4 and last 2 characters at most)."""
    return service.public_config(service.get_config(session), settings=settings)


@router.post(
    "/notify/config",
    response_model=NotifyConfigRead,
    responses={409: {"description": "expected_version is stale"}, 422: {"description": "invalid field"}},
)
def update_config(body: NotifyConfigUpdate, session: SessionDep, settings: SettingsDep) -> NotifyConfigRead:
    """Partial update: omitted fields keep their value, the masked token echoed back keeps the token."""
    return service.public_config(service.update_config(session, changes=body), settings=settings)


@router.post(
    "/notify/test",
    response_model=NotifyTestResult,
    responses={
        412: {"description": "no token or chat configured"},
        502: {"description": "Telegram refused: bad_token, chat_not_found, rate_limited, server_error, ..."},
        503: {"description": "Telegram unreachable or timed out"},
    },
)
def send_test(
    database: DatabaseDep, settings: SettingsDep, client_factory: ClientFactoryDep
) -> NotifyTestResult:
    """Send a test message to the configured chat and report Telegram's answer."""
    return service.send_test(database, settings=settings, client_factory=client_factory)
