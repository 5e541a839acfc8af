"""The daily report: one query per section, the HTML build and the `reports` records.

Each section query reads one day from the database and answers its model from `schemas`; the API,
the dashboard and the build share them. `SECTIONS` is the report's table of contents: a new section
is a query, a partial template `templates/sections/<key>.html.j2` and one entry there.
The build renders the Jinja template, writes the file atomically under
`ARTIFACTS_DIR/reports/` and records it; a rebuild of the same day and language replaces both.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from markupsafe import Markup
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Table, and_, case, func, or_, select
from sqlalchemy.orm import Session

from myassistant.alerts.logic import FEED_FAILURES_FOR_ALERT
from myassistant.core import clock
from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import DomainError, NotFound
from myassistant.core.files import write_atomically
from myassistant.core.logging import REDACTOR
from myassistant.jobs.tables import JobRun
from myassistant.market import logic as market_logic
from myassistant.market import service as market
from myassistant.ml import health as ml
from myassistant.ml.tables import ModelPromotion, ModelRun
from myassistant.news import service as news
from myassistant.news.tables import Article, ArticleAnnotation, ArticleTag
from myassistant.replay import service as replay
from myassistant.replay.tables import Replay
from myassistant.reports import charts, logic, texts
from myassistant.reports.logic import AccountInfo, LedgerEntry, SeriesKey
from myassistant.reports.schemas import (
    FeedProblem,
    HealthRow,
    JobFailure,
    JobsSection,
    Lang,
    MarketsSection,
    ModelsSection,
    NewsSection,
    PaperSection,
    PromotionRow,
    ReplaysSection,
    ReportRead,
    RunRow,
    SignalRow,
    SignalsSection,
    SummarySection,
    VetoOutcome,
)
from myassistant.reports.tables import Report
from myassistant.signals.tables import SignalEvent
from myassistant.trading.logic import Fill, Side
from myassistant.trading.tables import PaperAccount, PaperOrder

if TYPE_CHECKING:  # pandas loads with the first report built, not when the service starts
    import pandas as pd


logger = logging.getLogger("myassistant.reports")

REPORTS_SUBDIR = "reports"
MAX_SIGNAL_ROWS = 2000  # 20 pairs x 96 bars of 15 minutes
VETO_WINDOW = timedelta(days=7)
MAX_FAILURES = 20
MAX_REPLAYS = 20
MAX_ERROR_CHARS = 600


# --- news ----------------------------------------------------------------------------------------


def news_section(session: Session, *, settings: Settings, day: date) -> NewsSection:
    """Articles first seen during the day: volumes, languages, sentiment by hour, tags, headlines."""
    import pandas as pd

    start, end = logic.day_bounds(day)
    in_day = and_(Article.first_seen_at >= start, Article.first_seen_at < end)
    rows = session.execute(
        select(
            Article.id,
            Article.title,
            Article.url,
            Article.source,
            Article.first_seen_at,
            ArticleAnnotation.article_id.is_not(None).label("analysed"),
            ArticleAnnotation.lang,
            ArticleAnnotation.compound,
        )
        .outerjoin(ArticleAnnotation, ArticleAnnotation.article_id == Article.id)
        .where(in_day)
    ).all()
    articles = pd.DataFrame(rows, columns=list(logic.ARTICLE_COLUMNS))
    if not articles.empty:
        articles["first_seen_at"] = pd.to_datetime(articles["first_seen_at"], utc=True)
        articles["compound"] = pd.to_numeric(articles["compound"], errors="coerce")
    # Through the day's articles (an index range) to their tags (the primary key), not a tag scan.
    count = func.count().label("articles")
    tags = session.execute(
        select(ArticleTag.tag, count)
        .join(Article, Article.id == ArticleTag.article_id)
        .where(in_day)
        .group_by(ArticleTag.tag)
        .order_by(count.desc(), ArticleTag.tag)
        .limit(logic.TOP_TAGS)
    ).all()
    return logic.news_figures(articles, [(tag, n) for tag, n in tags], day_start=start)


# --- markets -------------------------------------------------------------------------------------


def markets_section(session: Session, *, settings: Settings, day: date) -> MarketsSection:
    """Each watchlist pair's day: last close, 24 h change, realised volatility, sparkline."""
    import pandas as pd

    start, end = logic.day_bounds(day)
    pairs = []
    for pair in market.pairs_for_jobs(session, settings=settings):
        try:
            prices = market.load_prices(
                session,
                exchange=pair.exchange,
                symbol=pair.symbol,
                timeframe=pair.timeframe,
                start=start - logic.DAY,
                end=end - timedelta(milliseconds=1),
            )
        except DomainError as exc:  # an odd watchlist entry shows without prices, never stops the report
            logger.warning("report: no prices for %s %s: %s", pair.exchange, pair.symbol, exc.detail)
            prices = pd.DataFrame({"close": []}, index=pd.DatetimeIndex([], tz="UTC"))
        pairs.append(
            logic.pair_market(
                prices, exchange=pair.exchange, symbol=pair.symbol, timeframe=pair.timeframe, day_start=start
            )
        )
    return MarketsSection(pairs=pairs)


# --- signals -------------------------------------------------------------------------------------

_REASONS = SignalEvent.note["risk"]["reasons"]
_SIGNAL_ROWS = TypeAdapter(list[SignalRow])  # a day's ~2,000 rows validated in one call


def signals_section(session: Session, *, settings: Settings, day: date) -> SignalsSection:
    """Every signal event made during the day, and what the vetoed BUYs of the last week earned."""
    start, end = logic.day_bounds(day)
    in_day = and_(SignalEvent.created_at >= start, SignalEvent.created_at < end)
    events, buys, blocked = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((SignalEvent.final_signal == "buy", 1), else_=0)), 0),
            func.coalesce(func.sum(case((SignalEvent.blocked.is_(True), 1), else_=0)), 0),
        ).where(in_day)
    ).one()
    rows = session.execute(
        select(
            SignalEvent.id,
            SignalEvent.bar_dt,
            SignalEvent.exchange,
            SignalEvent.symbol,
            SignalEvent.timeframe,
            SignalEvent.prob,
            SignalEvent.threshold,
            SignalEvent.raw_signal,
            SignalEvent.final_signal,
            SignalEvent.blocked,
            SignalEvent.forward_return,
        )
        .where(in_day)
        .order_by(SignalEvent.bar_dt, SignalEvent.symbol, SignalEvent.id)
        .limit(MAX_SIGNAL_ROWS)
    ).all()
    blocked_ids = [row.id for row in rows if row.blocked]
    reasons: dict[int, Any] = (
        dict(session.execute(select(SignalEvent.id, _REASONS).where(SignalEvent.id.in_(blocked_ids))).all())
        if blocked_ids
        else {}
    )
    return SignalsSection(
        events=int(events),
        buys=int(buys),
        blocked=int(blocked),
        rows=[SignalRow(**row._asdict(), reasons=logic.reason_labels(reasons.get(row.id))) for row in rows],
        more=max(0, int(events) - len(rows)),
        vetoes=vetoes_until(session, until=end),
    )


def vetoes_until(session: Session, *, until: datetime, window: timedelta = VETO_WINDOW) -> VetoOutcome:
    """What the BUYs the risk policy vetoed in the `window` before `until` would have earned."""
    import pandas as pd

    since = until - window
    rows = session.execute(
        select(SignalEvent.forward_return, _REASONS).where(
            SignalEvent.created_at >= since, SignalEvent.created_at < until, SignalEvent.blocked.is_(True)
        )
    ).all()
    frame = pd.DataFrame(
        {
            "forward_return": [math.nan if row[0] is None else float(row[0]) for row in rows],
            "filters": [logic.filter_names(row[1]) for row in rows],
        }
    )
    return logic.veto_outcome(frame, since=since, until=until)


# --- paper account -------------------------------------------------------------------------------


def paper_section(session: Session, *, settings: Settings, day: date) -> PaperSection:
    """The paper account open during the day, marked to market at every 15-minute close."""
    start, end = logic.day_bounds(day)
    account = session.scalars(
        select(PaperAccount)
        .where(PaperAccount.opened_at < end)
        .order_by(PaperAccount.opened_at.desc(), PaperAccount.id.desc())
        .limit(1)
    ).first()
    if account is None or (account.closed_at is not None and account.closed_at < start):
        return PaperSection()
    orders = session.execute(
        select(*_LEDGER_COLUMNS)
        .where(PaperOrder.account_id == account.id, PaperOrder.created_at < end)
        .order_by(PaperOrder.id)
    ).all()
    ledger = [_ledger_entry(order) for order in orders]
    closes = {key: _closes(session, key, start=start, end=end) for key in {e.series for e in ledger}}
    info = AccountInfo(account_id=account.id, quote=account.quote, initial_cash=account.initial_cash)
    return logic.paper_figures(info, ledger, closes, day_start=start)


_LEDGER_COLUMNS = (
    PaperOrder.id,
    PaperOrder.created_at,
    PaperOrder.exchange,
    PaperOrder.symbol,
    PaperOrder.timeframe,
    PaperOrder.side,
    PaperOrder.reason,
    PaperOrder.qty,
    PaperOrder.price,
    PaperOrder.fill_price,
    PaperOrder.notional,
    PaperOrder.fee,
    PaperOrder.cash_delta,
    PaperOrder.realized_pnl,
)


def _ledger_entry(order: Any) -> LedgerEntry:
    """One row of `_LEDGER_COLUMNS` (plain columns: the whole ledger is read, no ORM objects needed)."""
    side: Side = "buy" if order.side == "buy" else "sell"
    return LedgerEntry(
        order_id=order.id,
        at=order.created_at,
        exchange=order.exchange,
        symbol=order.symbol,
        timeframe=order.timeframe,
        side=order.side,
        reason=order.reason,
        fill=Fill(
            side,
            order.qty,
            order.price,
            order.fill_price,
            order.notional,
            order.fee,
            order.cash_delta,
            order.realized_pnl,
        ),
    )


def _closes(session: Session, key: SeriesKey, *, start: datetime, end: datetime) -> pd.Series:
    """A series' closes over the day (and the day before), indexed by the time each bar closed."""
    import pandas as pd

    exchange, symbol, timeframe = key
    try:
        prices = market.load_prices(
            session, exchange=exchange, symbol=symbol, timeframe=timeframe, start=start - logic.DAY, end=end
        )
    except DomainError:
        return pd.Series(dtype="float64")
    step = pd.Timedelta(milliseconds=market_logic.timeframe_ms(timeframe))
    return pd.Series(prices["close"].to_numpy(), index=prices.index + step)


# --- models --------------------------------------------------------------------------------------


def models_section(session: Session, *, settings: Settings, day: date) -> ModelsSection:
    """Every watchlist pair's model health now, and the day's training runs and promotion decisions."""
    start, end = logic.day_bounds(day)
    health = [
        HealthRow.model_validate(item.model_dump()) for item in ml.health_report(session, settings=settings)
    ]
    runs = session.execute(
        select(*(getattr(ModelRun, name) for name in RunRow.model_fields))
        .where(ModelRun.created_at >= start, ModelRun.created_at < end)
        .order_by(ModelRun.created_at, ModelRun.id)
    ).all()
    promotions = session.scalars(
        select(ModelPromotion)
        .where(ModelPromotion.created_at >= start, ModelPromotion.created_at < end)
        .order_by(ModelPromotion.created_at, ModelPromotion.id)
    ).all()
    return ModelsSection(
        health=health,
        runs=[RunRow(**run._asdict()) for run in runs],
        promotions=[
            PromotionRow(
                id=p.id,
                exchange=p.exchange,
                symbol=p.symbol,
                timeframe=p.timeframe,
                action=p.action,
                run_id=p.run_id,
                previous_run_id=p.previous_run_id,
                reason=p.reason,
                created_at=p.created_at,
                **logic.compared_figures(p.comparison),
            )
            for p in promotions
        ],
    )


# --- jobs ----------------------------------------------------------------------------------------


def _redacted(text: str | None) -> str | None:
    if text is None:
        return None
    clean = REDACTOR.redact(text)
    return clean if len(clean) <= MAX_ERROR_CHARS else clean[: MAX_ERROR_CHARS - 1] + "…"


def jobs_section(session: Session, *, settings: Settings, day: date) -> JobsSection:
    """The day's job runs per job, the failures with their (redacted) errors, feeds that keep failing."""
    import pandas as pd

    start, end = logic.day_bounds(day)
    runs = session.execute(
        select(JobRun.id, JobRun.job, JobRun.source, JobRun.status, JobRun.started_at, JobRun.finished_at)
        .where(JobRun.started_at >= start, JobRun.started_at < end)
        .order_by(JobRun.id)
    ).all()
    frame = pd.DataFrame(
        {
            "job": [run.job for run in runs],
            "status": [run.status for run in runs],
            "duration_s": [
                (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
                for run in runs
            ],
        }
    )
    failed_ids = [run.id for run in runs if run.status in logic.FAILED_STATUSES]
    newest = failed_ids[::-1][:MAX_FAILURES]
    errors = dict(session.execute(select(JobRun.id, JobRun.error).where(JobRun.id.in_(newest))).all())
    by_id = {run.id: run for run in runs}
    feeds = news.list_feeds(session, min_consecutive_failures=FEED_FAILURES_FOR_ALERT)
    return JobsSection(
        jobs=logic.job_counts(frame),
        failures=[
            JobFailure(
                run_id=run_id,
                job=by_id[run_id].job,
                source=by_id[run_id].source,
                started_at=by_id[run_id].started_at,
                error=_redacted(errors.get(run_id)) or by_id[run_id].status,
            )
            for run_id in newest
        ],
        more_failures=len(failed_ids) - len(newest),
        failing_feeds=[
            FeedProblem(
                url=feed.url,
                title=feed.title,
                consecutive_failures=feed.consecutive_failures,
                last_error=_redacted(feed.last_error),
                last_success_at=feed.last_success_at,
            )
            for feed in feeds
        ],
    )


# --- replays -------------------------------------------------------------------------------------


def replays_section(session: Session, *, settings: Settings, day: date) -> ReplaysSection:
    """Replays created or finished during the day: mode, window, pairs, status, headline figures."""
    start, end = logic.day_bounds(day)
    in_day = or_(
        and_(Replay.created_at >= start, Replay.created_at < end),
        and_(Replay.finished_at >= start, Replay.finished_at < end),
    )
    count, failed = session.execute(
        select(
            func.count(), func.coalesce(func.sum(case((Replay.status == replay.FAILED, 1), else_=0)), 0)
        ).where(in_day)
    ).one()
    newest = session.scalars(
        select(Replay).where(in_day).order_by(Replay.created_at.desc(), Replay.id.desc()).limit(MAX_REPLAYS)
    ).all()
    return ReplaysSection(
        count=int(count),
        failed=int(failed),
        replays=[
            logic.replay_row(
                replay_id=row.id,
                status=row.status,
                mode=row.mode,
                params=row.params,
                metrics=row.metrics,
                error=_redacted(row.error),
                created_at=row.created_at,
                finished_at=row.finished_at,
            )
            for row in reversed(newest)
        ],
        more=int(count) - len(newest),
    )


# --- the report ----------------------------------------------------------------------------------

SectionQuery = Callable[..., BaseModel]  # (session, *, settings, day) -> the section's model


@dataclass(frozen=True)
class Section:
    """One part of the report: `key` names its template (`sections/<key>.html.j2`) and its title."""

    key: str
    query: SectionQuery


# The report's sections, in order (the summary on top is made from them).
SECTIONS: tuple[Section, ...] = (
    Section("news", news_section),
    Section("markets", markets_section),
    Section("signals", signals_section),
    Section("paper", paper_section),
    Section("models", models_section),
    Section("replays", replays_section),
    Section("jobs", jobs_section),
)


def collect(session: Session, *, settings: Settings, day: date) -> dict[str, BaseModel]:
    """Every section of the day's report, by key."""
    return {section.key: section.query(session, settings=settings, day=day) for section in SECTIONS}


def summarise(sections: Mapping[str, BaseModel]) -> SummarySection:
    """The summary on top of the report, from its sections."""
    jobs = cast(JobsSection, sections["jobs"])
    return logic.summarise(
        paper=cast(PaperSection, sections["paper"]),
        signals=cast(SignalsSection, sections["signals"]),
        markets=cast(MarketsSection, sections["markets"]),
        models=cast(ModelsSection, sections["models"]),
        replays=cast(ReplaysSection, sections["replays"]),
        failed_job_runs=sum(job.failed for job in jobs.jobs),
        failing_feeds=len(jobs.failing_feeds),
    )


def summary_section(session: Session, *, settings: Settings, day: date) -> SummarySection:
    """The summary alone (it reads every section)."""
    return summarise(collect(session, settings=settings, day=day))


@functools.cache
def _environment() -> Any:
    import jinja2  # only the build needs it; the API imports this module

    return jinja2.Environment(
        loader=jinja2.PackageLoader("myassistant.reports", "templates"),
        autoescape=True,  # headlines, feed names, tags and errors come from outside
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def _charts(sections: Mapping[str, BaseModel], lang: Lang) -> dict[str, Markup]:
    """Each chart the template shows, as inline SVG (built by us: matplotlib escapes every label)."""
    drawn: dict[str, str] = {}
    news_data = cast(NewsSection, sections["news"])
    if news_data.articles:
        hours = news_data.sentiment_by_hour
        drawn["sentiment"] = charts.sentiment_chart(
            [h.hour for h in hours], [h.articles for h in hours], [h.mean_compound for h in hours]
        )
        sources = news_data.by_source
        drawn["sources"] = charts.bar_chart(
            [s.name for s in sources], [s.count for s in sources], title=texts.t(lang, "news_by_source")
        )
        if news_data.top_tags:
            tags = news_data.top_tags
            drawn["tags"] = charts.bar_chart(
                [s.name for s in tags], [s.count for s in tags], title=texts.t(lang, "news_top_tags")
            )
    paper = cast(PaperSection, sections["paper"])
    if paper.curve:
        drawn["equity"] = charts.line_chart(
            [p.at for p in paper.curve], [p.equity for p in paper.curve], title=texts.t(lang, "paper_curve")
        )
    return {name: Markup(svg) for name, svg in drawn.items()}  # noqa: S704 - our own SVG, labels escaped


def render(
    sections: Mapping[str, BaseModel], summary: SummarySection, *, day: date, lang: Lang, built_at: datetime
) -> str:
    """The report's HTML."""
    start, end = logic.day_bounds(day)
    markets_data = cast(MarketsSection, sections["markets"])
    return str(
        _environment()
        .get_template("daily.html.j2")
        .render(
            day=day,
            lang=lang,
            start=start,
            end=end,
            built_at=built_at,
            sections=SECTIONS,
            report=sections,
            summary=summary,
            charts=_charts(sections, lang),
            sparklines=[Markup(charts.sparkline(p.sparkline)) for p in markets_data.pairs],  # noqa: S704
            fmt=logic.Formatter(lang),
            t=functools.partial(texts.t, lang),
        )
    )


@dataclass(frozen=True)
class BuiltReport:
    record: ReportRead
    summary: SummarySection
    path: Path


def report_path(settings: Settings, relative: str) -> Path:
    return settings.artifacts_dir / relative


def build(
    database: Database, *, settings: Settings, day: date, lang: Lang, job_run_id: int | None = None
) -> BuiltReport:
    """Build the day's report in `lang`: read every section, render, write the file atomically, record it.

    A rebuild of the same day and language replaces the file and the row; other days' reports stay.
    """
    with database.session(write=False) as session:
        sections = collect(session, settings=settings, day=day)
    summary = summarise(sections)
    data = render(sections, summary, day=day, lang=lang, built_at=clock.now()).encode("utf-8")
    relative = f"{REPORTS_SUBDIR}/{logic.file_name(day, lang)}"
    path = report_path(settings, relative)
    write_atomically(path, data)
    with database.session() as session:
        record = _record(
            session,
            day=day,
            lang=lang,
            path=relative,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            job_run_id=job_run_id,
        )
    logger.info("report for %s (%s) written to %s: %d bytes", day, lang, path, len(data))
    return BuiltReport(record=record, summary=summary, path=path)


def _record(session: Session, **values: Any) -> ReportRead:
    """Insert the (day, language) row, or replace the one a previous build left."""
    table = cast(Table, Report.__table__)
    values["created_at"] = clock.now()
    values["date"] = values.pop("day")
    statement: Any
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(table).values(**values)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table).values(**values)
    changed = {
        name: statement.excluded[name] for name in ("path", "size", "sha256", "created_at", "job_run_id")
    }
    session.execute(statement.on_conflict_do_update(index_elements=["date", "lang"], set_=changed))
    row = session.scalars(
        select(Report).where(Report.date == values["date"], Report.lang == values["lang"])
    ).one()
    return ReportRead.model_validate(row)


def list_reports(session: Session, *, limit: int = 100) -> list[ReportRead]:
    """Built reports, newest day first."""
    query = select(Report).order_by(Report.date.desc(), Report.lang).limit(limit)
    return [ReportRead.model_validate(row) for row in session.scalars(query)]


def get_report(session: Session, *, day: date, lang: str) -> ReportRead:
    """The record of one day's report in `lang`; 404 when it was never built."""
    row = session.scalars(select(Report).where(Report.date == day, Report.lang == lang)).one_or_none()
    if row is None:
        raise NotFound(
            f"no {lang} report for {day.isoformat()}: build it with POST /report/daily "
            f'{{"date": "{day.isoformat()}", "lang": "{lang}"}}'
        )
    return ReportRead.model_validate(row)


def latest_report(session: Session, *, lang: str | None = None) -> ReportRead:
    """The newest day's report (in `lang` when given); 404 when none was built."""
    query = select(Report).order_by(Report.date.desc(), Report.created_at.desc()).limit(1)
    if lang is not None:
        query = query.where(Report.lang == lang)
    row = session.scalars(query).first()
    if row is None:
        raise NotFound("no report built yet: POST /report/daily builds one" + (f" in {lang}" if lang else ""))
    return ReportRead.model_validate(row)


def read_html(settings: Settings, record: ReportRead) -> bytes:
    """The report's file; 404 when it was deleted since it was built."""
    path = report_path(settings, record.path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(
            f"the {record.lang} report for {record.date.isoformat()} was built but its file {record.path} "
            "is gone: build it again with POST /report/daily"
        ) from None
