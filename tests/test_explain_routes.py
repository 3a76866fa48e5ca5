"GET /api/v1/explanations/{client_order_id} over a DecisionExplainer, and its LRU bound."
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ultimate_nb.ml.explain import DecisionExplainer, add_explain_routes

W = np.array([0.5, -1.0, 2.0])


def linear_predict(model: str, X: np.ndarray) -> np.ndarray:
    return (np.asarray(X) @ W).reshape(-1, 1)


@pytest.fixture
def explainer():
    dx = DecisionExplainer(linear_predict, version=lambda m: "v1", capacity=3, min_background=10)
    rng = np.random.default_rng(42)
    for row in rng.normal(size=(30, 3)):
        dx.observe("signal", row)
    return dx


def test_explanation_route_returns_additive_contributions(explainer):
    app = FastAPI()
    add_explain_routes(app, explainer)
    explainer.record("signal-SPY-1", "signal", [1.0, 2.0, -1.0], ["a", "b", "c"], ts_ns=5)
    r = TestClient(app).get("/api/v1/explanations/signal-SPY-1")
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == "v1" and body["stale"] is False
    assert abs(body["base_value"] + sum(body["contributions"].values()) - body["prediction"]) < 1e-8
    assert list(body["contributions"])[0] == "c"          # |2 * (-1 - mean)| is the largest


def test_unknown_order_is_404_and_missing_background_is_409(explainer):
    app = FastAPI()
    add_explain_routes(app, explainer)
    client = TestClient(app)
    assert client.get("/api/v1/explanations/nope").status_code == 404
    explainer.record("other-1", "other", [0.0, 0.0, 0.0])
    assert client.get("/api/v1/explanations/other-1").status_code == 409


def test_oldest_decision_is_evicted_past_capacity(explainer):
    for i in range(4):
        explainer.record(f"signal-SPY-{i}", "signal", [float(i), 0.0, 0.0])
    assert "signal-SPY-0" not in explainer and len(explainer) == 3
    with pytest.raises(KeyError, match="client_order_id"):
        explainer.explanation("signal-SPY-0")
