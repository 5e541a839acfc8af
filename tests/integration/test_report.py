"""The daily report over a seeded day: every section's figures, the file, the record, and its safety."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from myassistant.replay import service as replay
from myassistant.reports import logic, service
from myassistant.reports.schemas import (
    JobsSection,
    MarketsSection,
    ModelsSection,
    NewsSection,
    PaperSection,
    ReplayFigures,
    SignalsSection,
)
from myassistant.reports.tables import Report
from myassistant.trading.tables import PaperOrder
from tests.fixtures.report import (
    ARTICLES,
    DAY_START,
    PAIRS,
    REPORT_DAY,
    SCRIPT_HEADLINE,
    SECRET,
    seed_report_day,
)


@pytest.fixture
def seeded(database, settings, frozen_clock):
    return seed_report_day(database, settings, frozen_clock)


def _close_at(frame: pd.DataFrame, hour: int, minute: int, day_offset: int = 0) -> float:
    moment = DAY_START + timedelta(days=day_offset, hours=hour, minutes=minute)
    return float(frame.loc[pd.Timestamp(moment), "close"])


def _expected_equity_change(database, seeded) -> tuple[float, float]:
    """From the orders table and the seeded prices alone: cash plus ETH marked at the day's last close."""
    with database.session(write=False) as session:
        orders = session.scalars(select(PaperOrder).order_by(PaperOrder.id)).all()
    cash = Decimal(10_000) + sum((o.cash_delta for o in orders), Decimal(0))
    eth_qty = sum(
        (o.qty if o.side == "buy" else -o.qty for o in orders if o.symbol == "ETH/USDT"), Decimal(0)
    )
    btc_qty = sum(
        (o.qty if o.side == "buy" else -o.qty for o in orders if o.symbol == "BTC/USDT"), Decimal(0)
    )
    assert btc_qty == 0 and eth_qty > 0  # the seeded day: BTC bought and sold, ETH still held
    end = float(cash) + float(eth_qty) * _close_at(seeded.prices["ETH/USDT"], 23, 45)
    return end, end - 10_000.0


def test_every_section_shows_the_days_figures(database, settings, seeded, frozen_clock) -> None:
    built = service.build(database, settings=settings, day=REPORT_DAY, lang="en")
    with database.session(write=False) as session:
        sections = service.collect(session, settings=settings, day=REPORT_DAY)
    summary = service.summarise(sections)
    html = built.path.read_text(encoding="utf-8")
    assert isinstance(sections["paper"], PaperSection) and isinstance(sections["signals"], SignalsSection)
    assert isinstance(sections["news"], NewsSection) and isinstance(sections["markets"], MarketsSection)
    assert isinstance(sections["models"], ModelsSection) and isinstance(sections["jobs"], JobsSection)

    equity_end, change = _expected_equity_change(database, seeded)
    assert summary.equity == pytest.approx(equity_end, abs=1e-6)
    assert summary.equity_change == pytest.approx(change, abs=1e-6)
    assert f"{change:+,.2f} ({change / 100:+.2f}%)" in html  # of 10,000 USDT: 1% is 100
    assert sections["paper"].curve[0].equity == pytest.approx(10_000.0)
    assert sections["paper"].curve[-1].equity == pytest.approx(equity_end, abs=1e-6)
    assert [o.side for o in sections["paper"].orders] == ["buy", "buy", "sell"]
    assert [p.symbol for p in sections["paper"].positions] == ["ETH/USDT"]

    assert (summary.signals, summary.buys, summary.blocked) == (6, 2, 3)
    assert (seeded.events_today, seeded.buys_today, seeded.blocked_today) == (6, 2, 3)
    assert "6 events · 2 BUY · 3 BUYs blocked by the risk policy." in html
    blocked_rows = [row for row in sections["signals"].rows if row.blocked]
    assert blocked_rows[0].reasons == ["max_vol_norm 3.41 / 3"]
    known = [r for r in seeded.veto_returns if r is not None]
    vetoes = sections["signals"].vetoes
    assert (vetoes.vetoed, vetoes.with_return, vetoes.winners) == (4, 3, 1)
    assert vetoes.total_return == pytest.approx(sum(known)) and vetoes.verdict == "saved"
    assert "The risk policy saved money: together the vetoed trades would have lost -2.50%." in html

    tags = Counter(tag for *_, tags, _title in ARTICLES if _[1] is not None for tag in tags)
    top_tag, top_count = tags.most_common(1)[0]
    assert (top_tag, top_count) == ("BTC", 4)
    news = sections["news"]
    assert (news.top_tags[0].name, news.top_tags[0].count) == (top_tag, top_count)
    assert news.articles == len(ARTICLES) and news.analysed == len(ARTICLES) - 1
    assert {c.name: c.count for c in news.by_source} == dict(Counter(a[1] for a in ARTICLES))
    assert {c.name: c.count for c in news.by_lang} == {"en": 5, "ru": 1, "": 1}
    assert [h.title for h in news.most_positive] == ["Bitcoin ETF inflows hit a record", SCRIPT_HEADLINE]
    assert news.most_negative[0].title == "Exchange hack drains hot wallets"
    hours = {h.hour.hour: h for h in news.sentiment_by_hour}
    assert len(hours) == 24 and hours[1].mean_compound == pytest.approx(0.81) and hours[9].articles == 1
    assert hours[9].mean_compound is None and hours[3].articles == 0

    for symbol, frame in seeded.prices.items():
        expected = (_close_at(frame, 23, 45) / _close_at(frame, 23, 45, day_offset=-1) - 1) * 100
        [pair] = [p for p in sections["markets"].pairs if p.symbol == symbol]
        assert pair.change_pct == pytest.approx(expected) and pair.bars == 96
        assert pair.close == pytest.approx(_close_at(frame, 23, 45)) and len(pair.sparkline) == 48
    moves = {p.symbol: p.change_pct for p in sections["markets"].pairs if p.change_pct is not None}
    assert summary.best_pair is not None and summary.best_pair.symbol == max(moves, key=moves.__getitem__)
    assert summary.worst_pair is not None and summary.worst_pair.symbol == min(moves, key=moves.__getitem__)

    models = sections["models"]
    assert {h.symbol: h.status for h in models.health} == {"BTC/USDT": "ok", "ETH/USDT": "stale"}
    assert summary.stale_models == 1
    [run] = models.runs
    assert (run.symbol, run.test_auc) == ("BTC/USDT", 0.612)
    [promotion] = models.promotions
    assert (promotion.action, promotion.run_id) == ("promoted", run.id)

    jobs = {j.job: j for j in sections["jobs"].jobs}
    assert (jobs["fetch_prices"].runs, jobs["fetch_prices"].failed, jobs["fetch_news"].ok) == (3, 2, 2)
    assert summary.failed_job_runs == 2 and summary.failing_feeds == 1
    assert SECRET not in html and "api_key=***" in html  # errors are redacted
    assert "Broken &lt;b&gt;feed&lt;/b&gt;" in html


class _Rows(HTMLParser):
    """The text of every table row inside the element with the given id."""

    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id, self.depth = element_id, 0
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("br", "hr", "img", "meta", "link", "wbr") and (
            self.depth or ("id", self.element_id) in attrs
        ):
            self.depth += 1
        if self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _table_rows(html: str, element_id: str) -> list[list[str]]:
    parser = _Rows(element_id)
    parser.feed(html)
    return parser.rows


def _shown(side: dict) -> list[str]:
    """A replay side's figures as the report writes them (en)."""
    return [
        f"{side['total_return'] * 100:+,.2f}%",
        f"{side['buy_and_hold_return'] * 100:+,.2f}%",
        f"{side['sharpe']:,.2f}",
        f"{side['max_drawdown'] * 100:,.2f}%",
        f"{side['win_rate'] * 100:,.1f}%",
        str(side["trades"]),
        f"{side['exposure'] * 100:,.1f}%",
        f"{side['oos_auc']:,.3f}",
    ]


def test_the_days_replays_show_mode_window_pairs_status_and_both_what_if_sides(
    database, settings, seeded
) -> None:
    html = service.build(database, settings=settings, day=REPORT_DAY, lang="en").path.read_text(
        encoding="utf-8"
    )
    with database.session(write=False) as session:
        section = service.replays_section(session, settings=settings, day=REPORT_DAY)
        summary = service.summary_section(session, settings=settings, day=REPORT_DAY)
        stored = {r.id: r for r in replay.list_(session)}
    assert len(stored) == 3  # the one of the day before is left out
    # Oldest first: queued the evening before and failed during the day, then the what-if.
    failed, what_if = section.replays
    assert (failed.id, what_if.id) == (seeded.failed_replay, seeded.what_if_replay)
    assert (section.count, section.failed, section.more) == (2, 1, 0)

    metrics = stored[what_if.id].metrics
    a, b = metrics, metrics["what_if"]["b"]
    assert what_if.status == "succeeded" and what_if.mode == "walk_forward"
    assert what_if.pairs == [f"{symbol} 15m" for symbol in PAIRS] and what_if.what_if_changes == [
        "risk_policy"
    ]
    assert (what_if.start, what_if.end) == (DAY_START - timedelta(hours=12), DAY_START + timedelta(hours=20))
    assert what_if.figures is not None and what_if.what_if is not None
    for side, figures in ((a, what_if.figures), (b, what_if.what_if)):
        assert figures.model_dump() == {name: side[name] for name in ReplayFigures.model_fields}
    assert 0 < a["trades"] < b["trades"] and a["vetoes"] > 0  # the policy blocked BUYs the what-if took
    # Buy-and-hold from the seeded bars alone: equal weights, first open to last close, 10 bp fee, 5 bp slip.
    window = [
        frame.loc[DAY_START - timedelta(hours=12) : DAY_START + timedelta(hours=20)]
        for frame in seeded.prices.values()
    ]
    hold = (
        np.mean([f["close"].iloc[-1] * 0.9995 * 0.999 / (f["open"].iloc[0] * 1.0005 * 1.001) for f in window])
        - 1
    )
    assert what_if.figures.buy_and_hold_return == pytest.approx(hold, abs=1e-12)

    rows = _table_rows(html, "replays")
    assert rows[0] == [
        "",
        "Return after costs",
        "Buy and hold",
        "Sharpe",
        "Max drawdown",
        "Win rate",
        "Trades",
        "Exposure",
        "Out-of-sample AUC",
    ]
    assert rows[1:] == [["Replay", *_shown(a)], ["What-if: other risk policy", *_shown(b)]]
    assert f"Replay #{what_if.id} · walk-forward" in html
    assert "Window 2026-01-13 12:00 → 2026-01-14 20:00 UTC (bar opens) · BTC/USDT 15m, ETH/USDT 15m" in html
    assert f"Replay #{failed.id} · walk-forward" in html and failed.figures is None
    assert failed.error is not None and failed.error.startswith("RuntimeError: exchange said 401")
    stored_error = stored[failed.id].error
    assert stored_error is not None
    assert SECRET not in html and SECRET in stored_error  # redacted in the report only
    assert f"Replay #{seeded.other_day_replay} " not in html

    assert (summary.replays, summary.failed_replays) == (2, 1)
    assert summary.latest_replay is not None and summary.latest_replay.id == what_if.id
    line = logic.summary_lines(summary, "en")[-1]
    assert (
        line
        == f"Replays 2 · failed 1 · #{what_if.id}: {_shown(a)[0]} after costs vs buy-and-hold {_shown(a)[1]}"
    )


def test_a_day_without_replays_says_so_and_keeps_them_out_of_the_summary(database, settings, seeded) -> None:
    day = REPORT_DAY - timedelta(days=2)
    html = service.build(database, settings=settings, day=day, lang="en").path.read_text(encoding="utf-8")
    assert "Nothing yet: no replay ran this day." in html and '<div class="label">Replays</div>' not in html
    with database.session(write=False) as session:
        summary = service.summary_section(session, settings=settings, day=day)
    assert summary.replays == 0 and summary.latest_replay is None
    assert not any(line.startswith("Replays") for line in logic.summary_lines(summary, "en"))


def test_an_empty_database_still_builds_a_report_saying_there_is_nothing_yet(
    database, settings, frozen_clock
) -> None:
    built = service.build(database, settings=settings, day=REPORT_DAY, lang="en")
    html = built.path.read_text(encoding="utf-8")
    for sentence in (
        "Nothing yet: no article was first seen this day.",
        "Nothing yet: the watchlist is empty.",
        "Nothing yet: no signal event this day.",
        "Nothing yet: no paper account was open this day.",
        "Nothing yet: no replay ran this day.",
        "Nothing yet: no job ran this day.",
    ):
        assert sentence in html
    ru = service.build(database, settings=settings, day=REPORT_DAY, lang="ru").path.read_text(
        encoding="utf-8"
    )
    assert "Пока ничего: за этот день новых статей не было." in ru and 'lang="ru"' in ru


def test_a_script_headline_shows_as_text(database, settings, seeded) -> None:
    html = service.build(database, settings=settings, day=REPORT_DAY, lang="en").path.read_text(
        encoding="utf-8"
    )
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; Ether upgrade ships" in html


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.references: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("href", "src", "xlink:href", "srcset", "action", "formaction", "poster", "data"):
                self.references.append((tag, name, value or ""))


def test_the_file_loads_nothing_from_outside_and_links_only_to_articles(database, settings, seeded) -> None:
    html = service.build(database, settings=settings, day=REPORT_DAY, lang="en").path.read_text(
        encoding="utf-8"
    )
    parser = _Links()
    parser.feed(html)
    assert "script" not in parser.tags and "iframe" not in parser.tags and "img" not in parser.tags
    outside = [(tag, name, value) for tag, name, value in parser.references if not value.startswith("#")]
    assert outside and all(tag == "a" and name == "href" for tag, name, _ in outside)
    assert {value for *_, value in outside} <= set(seeded.article_urls)
    assert not re.search(r"url\(\s*['\"]?(https?:|//)", html) and "@import" not in html
    assert not re.search(r"\s(src|href)\s*=\s*['\"]?(https?:)?//(?!news\.test/)", html)
    assert html.count("<svg") >= 4 + 2  # sentiment, sources, tags, equity; a sparkline per pair


def test_a_rebuild_replaces_the_days_file_and_row_and_other_reports_stay(
    database, settings, seeded, frozen_clock
) -> None:
    first = service.build(database, settings=settings, day=REPORT_DAY, lang="en")
    other = service.build(database, settings=settings, day=REPORT_DAY - timedelta(days=1), lang="en")
    frozen_clock.advance(minutes=5)
    with database.session() as session:
        session.add(
            PaperOrder(
                **{
                    column.name: getattr(session.get(PaperOrder, 1), column.name)
                    for column in PaperOrder.__table__.columns
                    if column.name not in ("id", "signal_event_id")
                }
            )
        )  # one more order this day: the rebuilt report differs
    again = service.build(database, settings=settings, day=REPORT_DAY, lang="en", job_run_id=None)
    assert again.record.id == first.record.id and again.record.sha256 != first.record.sha256
    assert again.record.created_at > first.record.created_at
    assert again.path.read_bytes().decode() == again.path.read_text(encoding="utf-8")
    assert again.record.size == len(again.path.read_bytes())
    with database.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 2
        listed = service.list_reports(session)
    assert [(r.date, r.lang) for r in listed] == [(REPORT_DAY, "en"), (REPORT_DAY - timedelta(days=1), "en")]
    assert other.path.exists()
    assert sorted(p.name for p in other.path.parent.iterdir()) == [
        "daily_2026-01-13_en.html",
        "daily_2026-01-14_en.html",
    ]  # no temporary file left behind


def test_report_texts_have_the_same_keys_in_both_languages() -> None:
    from myassistant.reports.texts import TEXTS

    assert set(TEXTS) == {"en", "ru"}
    assert set(TEXTS["en"]) == set(TEXTS["ru"])
    fields = re.compile(r"{(\w+)}")
    for key, text in TEXTS["en"].items():
        assert set(fields.findall(text)) == set(fields.findall(TEXTS["ru"][key])), key


def test_the_day_is_yesterday_by_default(frozen_clock) -> None:
    assert logic.default_day(frozen_clock.now()) == date(2026, 1, 14)
