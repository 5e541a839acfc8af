"""Fuzzing the News routes: bad input is a 4xx, never a 5xx, and fetching never leaves loopback."""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from myassistant.api.app import create_app
from tests.reliability.fuzzing import fuzz_operation

FETCH_PATH = "/news/fetch"


def test_news_reads_analyze_and_fetch_config_never_answer_5xx(make_settings, database) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(make_settings(), database=database))
    operations = [r.ok() for r in schema.get_all_operations() if r.ok().path.startswith("/news/")]
    fuzzed = [op for op in operations if op.path != FETCH_PATH]
    assert len(fuzzed) == 7  # five reads and analyze, GET/POST /news/fetch_config
    for operation in fuzzed:
        fuzz_operation(operation, max_examples=40)


# Feed URLs stay on loopback (a closed port, or nothing like a URL at all), so fuzzing sends no traffic out.
_feed = st.one_of(
    st.text(max_size=30).filter(lambda s: "://" not in s),
    st.builds(lambda tail: f"http://127.0.0.1:9/{tail}", st.text(max_size=20)),
    st.builds(
        lambda scheme, tail: f"{scheme}://127.0.0.1/{tail}",
        st.sampled_from(["ftp", "file", "gopher"]),
        st.text(max_size=10),
    ),
)
_bodies = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "feeds": st.one_of(st.none(), st.lists(_feed, max_size=3), st.text(max_size=5), st.integers()),
            "limit": st.one_of(st.none(), st.integers(min_value=-5, max_value=2000), st.text(max_size=3)),
            "extra": st.booleans(),
        },
    ),
    st.lists(st.integers(), max_size=2),
)


def test_fetch_never_answers_5xx(make_settings, database) -> None:
    app = create_app(make_settings(), database=database)
    with TestClient(app) as client:

        @given(body=_bodies)
        @settings(max_examples=60, deadline=None, derandomize=True, database=None)
        def run(body) -> None:
            response = client.post(FETCH_PATH, json=body)
            assert response.status_code < 500, (body, response.text)

        run()
