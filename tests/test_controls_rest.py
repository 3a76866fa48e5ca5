"""Trading controls through a running book: the trading state switched over REST and by a fill,
denial codes in the answers and in /metrics, the switch on the stream and in /health, every change
journaled with who made it, and all of it back after kill -9 or a restart."""

from __future__ import annotations

import signal

import httpx
from websockets.sync.client import connect

from conftest import eventually
from test_live_e2e import NO_STRATEGY, TOKEN, _metric, _receive_until


def _put_state(book, state: str, reason: str, cid: str | None = None) -> httpx.Response:
    headers = {**book.headers, **({"X-Correlation-ID": cid} if cid else {})}
    return httpx.put(f"{book.rest_url}/api/v1/trading-state", json={"state": state, "reason": reason},
                     headers=headers, timeout=5)


def _patch_config(book, changes: dict, cid: str) -> httpx.Response:
    return httpx.patch(f"{book.rest_url}/api/v1/config", json={"changes": changes}, timeout=5,
                       headers={**book.headers, "X-Correlation-ID": cid})


def test_halt_over_rest_is_streamed_denies_with_code_and_survives_kill_9(start_book, tmp_path):
    book = start_book(tmp_path, token=TOKEN, speed=60, extra_args=NO_STRATEGY)
    with connect(f"{book.ws_url}?types=Quote,TradingStateChanged", additional_headers=book.headers,
                 open_timeout=10) as ws:
        _receive_until(ws, lambda m: m["type"] == "Quote")             # subscribed
        put = _put_state(book, "halted", "fire drill", cid="drill-1")
        streamed = _receive_until(ws, lambda m: m["type"] == "TradingStateChanged")
    assert put.status_code == 200 and put.json()["changed"] is True, put.text
    assert {k: streamed[k] for k in ("state", "previous", "reason", "actor", "correlation_id")} == \
        {"state": "halted", "previous": "active", "reason": "fire drill", "actor": "api", "correlation_id": "drill-1"}

    denied = book.post("/api/v1/orders", {"symbol": "AAPL", "side": "buy", "qty": 1})
    assert denied.status_code == 422 and denied.json()["detail"]["code"] == "halted", denied.text
    assert denied.json()["detail"]["reason"] == "trading halted"
    assert _metric(book, "ultimate_order_denials_total", code="halted", strategy="api") == 1.0
    assert _metric(book, "ultimate_trading_state") == 2.0
    health = book.health().json()
    assert health["trading_state"]["state"] == "halted" and health["components"]["trading"]["status"] == "degraded"
    assert book.health().status_code == 200                          # halted is not down: the book answers

    book.kill(signal.SIGKILL)
    book.start()
    state = book.get("/api/v1/trading-state").json()
    assert (state["state"], state["actor"], state["correlation_id"]) == ("halted", "api", "drill-1")
    assert _metric(book, "ultimate_trading_state") == 2.0
    assert book.post("/api/v1/orders", {"symbol": "AAPL", "side": "buy", "qty": 1}).json()["detail"]["code"] == "halted"
    assert _put_state(book, "active", "drill over").json()["changed"] is True
    assert book.post("/api/v1/orders", {"symbol": "AAPL", "side": "buy", "qty": 1}).status_code == 201
    history = book.get("/api/v1/trading-state/history").json()["changes"]
    assert [(h["state"], h["actor"]) for h in history] == [("halted", "api"), ("active", "api")]


def test_fill_over_the_credit_limit_switches_to_reducing_and_limits_keep_their_author(start_book, tmp_path):
    book = start_book(tmp_path, token=TOKEN, speed=60, extra_args=NO_STRATEGY)
    assert book.post("/api/v1/orders", {"symbol": "AAPL", "side": "buy", "qty": 100}).status_code == 201
    assert _patch_config(book, {"risk.max_gross_notional": 10_000}, "cfg-1").status_code == 200
    # A sale reduces exposure, so the credit check lets it through; its fill leaves ~17,000 gross > 10,000
    assert book.post("/api/v1/orders", {"symbol": "AAPL", "side": "sell", "qty": 10}).status_code == 201
    state = eventually(lambda: (s := book.get("/api/v1/trading-state").json())["state"] == "reducing" and s,
                       message="auto switch to reducing")
    assert state["actor"] == "auto:credit" and "max_gross_notional" in state["reason"]
    buy = book.post("/api/v1/orders", {"symbol": "AAPL", "side": "buy", "qty": 1})
    assert buy.status_code == 422 and buy.json()["detail"]["code"] == "reducing_only", buy.text
    assert book.post("/api/v1/orders", {"symbol": "AAPL", "side": "sell", "qty": 10}).status_code == 201
    assert _metric(book, "ultimate_order_denials_total", code="reducing_only", strategy="api") == 1.0
    assert _metric(book, "ultimate_trading_state") == 1.0

    book.restart()
    assert book.get("/api/v1/trading-state").json()["state"] == "reducing"
    assert book.get("/api/v1/config").json()["runtime"]["risk.max_gross_notional"] == 10_000
    history = book.get("/api/v1/config/history").json()["changes"]
    assert [(h["changes"], h["actor"], h["correlation_id"]) for h in history] == \
        [({"risk.max_gross_notional": 10_000}, "api", "cfg-1")]
    assert isinstance(history[0]["seq"], int) and history[0]["ts_ns"] > 0


def test_each_denial_code_over_rest_is_counted_by_code(start_book, tmp_path):
    book = start_book(tmp_path, token=TOKEN, speed=60, extra_args=NO_STRATEGY + (
        "--set", "risk.restricted_symbols=[SPY]", "--set", "risk.duplicate_window_ms=60000"))
    first = book.post("/api/v1/orders", {"symbol": "MSFT", "side": "buy", "qty": 1})
    assert first.status_code == 201 and first.json()["status"] == "filled", first.text
    mid = first.json()["avg_fill_price"]
    cases = {
        "restricted": {"symbol": "SPY", "side": "buy", "qty": 1},
        "max_order_qty": {"symbol": "AAPL", "side": "buy", "qty": 20_000},
        "max_order_notional": {"symbol": "MSFT", "side": "buy", "qty": 9_000},
        "price_collar": {"symbol": "MSFT", "side": "buy", "qty": 1, "type": "limit", "limit_price": round(mid * 0.5, 2)},
        "duplicate": {"symbol": "MSFT", "side": "buy", "qty": 1},
    }
    codes = {}
    for want, body in cases.items():
        r = book.post("/api/v1/orders", body)
        assert r.status_code == 422, (want, r.text)
        codes[want] = r.json()["detail"]["code"]
    assert codes == {k: k for k in cases}
    for code in cases:
        assert _metric(book, "ultimate_order_denials_total", code=code, strategy="api") == 1.0, code
    journaled = book.get(f"/api/v1/orders/{r.json()['detail']['order']['client_order_id']}").json()
    assert journaled["status"] == "denied" and journaled["reason"] == r.json()["detail"]["reason"]
