"""Whatever JSON arrives at POST /notify/config, the answer is a clear 4xx or a success, never 5xx."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=12,
)
fields = st.sampled_from(
    ["enabled", "token", "chat_id", "lang", "profiles", "active_profile", "expected_version"]
)
bodies = st.dictionaries(fields | st.text(max_size=10), json_values, max_size=5) | json_values


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_notify_config_never_answers_5xx(notify_client, body: object) -> None:
    response = notify_client.post("/notify/config", json=body)
    assert response.status_code in {200, 409, 422}, response.text
    assert "detail" in response.json() or response.status_code == 200
