"""The bot's data, read through the same service calls as the API's routes, so the numbers agree."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from myassistant.bot.logic import (
    EquityView,
    ModelHealthLine,
    PositionLine,
    ReportView,
    SignalLine,
    WatchlistLine,
)
from myassistant.core.config import Settings
from myassistant.core.errors import NotFound
from myassistant.core.i18n import Lang
from myassistant.market import service as market
from myassistant.ml import health as ml
from myassistant.reports import service as reports
from myassistant.signals import service as signals
from myassistant.trading import service as broker


def recent_signals(session: Session, _settings: Settings, count: int) -> list[SignalLine]:
    """`GET /signals/recent?limit=count`."""
    return [
        SignalLine(
            event_id=event.id,
            bar_dt=event.bar_dt,
            exchange=event.exchange,
            symbol=event.symbol,
            timeframe=event.timeframe,
            final_signal=event.final_signal,
            prob=event.prob,
            threshold=event.threshold,
            blocked=event.blocked,
        )
        for event in signals.recent(session, limit=count)
    ]


def open_positions(session: Session, _settings: Settings) -> list[PositionLine]:
    """`GET /trade/positions`: marked at the latest stored close."""
    return [
        PositionLine(
            exchange=position.exchange,
            symbol=position.symbol,
            qty=position.qty,
            avg_price=position.avg_price,
            last_price=position.last_price if position.priced else None,
            unrealized_pnl=position.unrealized_pnl,
            unrealized_pct=float(position.unrealized_pct) / 100,
        )
        for position in broker.positions(session)
    ]


def paper_equity(session: Session, _settings: Settings) -> EquityView:
    """`GET /trade/equity`."""
    equity = broker.equity(session)
    return EquityView(
        cash=equity.cash,
        positions_value=equity.positions_value,
        equity=equity.equity,
        realized_pnl=equity.realized_pnl,
        unrealized_pnl=equity.unrealized_pnl,
        return_pct=float(equity.return_pct) / 100,
        currency=equity.quote,
    )


def watchlist(session: Session, _settings: Settings) -> list[WatchlistLine]:
    """`GET /watchlist`."""
    return [
        WatchlistLine(
            exchange=entry.exchange,
            symbol=entry.symbol,
            source=entry.source,
            quote_volume_24h=entry.quote_volume_24h,
        )
        for entry in market.list_watchlist(session)
    ]


def model_health(session: Session, settings: Settings) -> list[ModelHealthLine]:
    """Every watchlist pair's model health under the model policy (what train_missing acts on)."""
    return [
        ModelHealthLine(
            exchange=health.exchange,
            symbol=health.symbol,
            timeframe=health.timeframe,
            horizon_steps=health.horizon_steps,
            status=health.status,
            reason=health.reason,
            run_id=health.run_id,
            auc=health.test_auc,
            age=timedelta(days=health.age_days) if health.age_days is not None else None,
        )
        for health in ml.health_report(session, settings=settings)
    ]


def latest_report(session: Session, settings: Settings, lang: Lang) -> ReportView | None:
    """The newest day's report (`GET /report/latest`): in `lang` when there is one, else in any language."""
    try:
        record = reports.latest_report(session, lang=lang)
    except NotFound:
        try:
            record = reports.latest_report(session)
        except NotFound:
            return None
    return ReportView(
        name=record.path.rsplit("/", 1)[-1],
        built_at=record.created_at,
        day=record.date,
        link=str(reports.report_path(settings, record.path).resolve()),
    )
