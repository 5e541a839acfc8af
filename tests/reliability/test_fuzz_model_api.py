"""Schemathesis over the training and dataset routes with the exchange peer running: never a 5xx, and
every answer as the schema declares it."""

from __future__ import annotations

from dataclasses import replace

import schemathesis

from myassistant.api.app import create_app
from myassistant.core import configdocs
from myassistant.market import service as market
from myassistant.market.exchange import CLIENTS
from myassistant.market.logic import Pair
from myassistant.market.schemas import WatchlistEntryIn
from myassistant.ml import history
from myassistant.ml.policy import MODEL_POLICY
from tests.fixtures.exchange_peer import TEST_CLIENT_OPTIONS
from tests.reliability.fuzzing import all_operations, fuzz_all

EXAMPLES = {"/model/train": 20, "/model/train_missing": 5, "/dataset/build": 20}
# The schema's example pair and the watchlist pair: their history is fetched before fuzzing.
STORED = (("BTC/USDT", "15m", 12), ("ETH/USDT", "1h", 12))


def _prepare(database, peer_settings) -> None:
    # A slow answer of the peer on a loaded machine would be a (correct) 503, not the bug sought here.
    CLIENTS.configure(replace(TEST_CLIENT_OPTIONS, timeout_s=10.0))
    with database.session() as session:
        # Small histories train quickly; fresh models count as ok, so train_missing then skips.
        changes = {"train_bars": 300, "retrain_if_auc_below": 0.0}
        policy = configdocs.patch(session, MODEL_POLICY, changes).value
        market.add_to_watchlist(
            session, settings=peer_settings, entries=[WatchlistEntryIn(symbol="ETH/USDT", timeframe="1h")]
        )
        for symbol, timeframe, horizon in STORED:
            pair = Pair(exchange="bybit", symbol=symbol, timeframe=timeframe, horizon_steps=horizon)
            bars = history.training_bars(policy)
            history.ensure_history(session, settings=peer_settings, pair=pair, bars=bars)


def test_no_input_makes_a_training_or_dataset_operation_answer_5xx(
    peer_settings, database, frozen_clock
) -> None:
    _prepare(database, peer_settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(peer_settings, database=database))
    operations = all_operations(schema)
    chosen = [op for op in operations if op.method.upper() == "POST" and op.path in EXAMPLES]
    report = fuzz_all(chosen, max_examples=lambda operation: EXAMPLES[operation.path])
    assert {operation.path for operation in chosen} == set(EXAMPLES)
    assert not report.failures, "\n\n".join(report.failures)
