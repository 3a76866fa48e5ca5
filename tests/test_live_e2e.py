"""End to end: the live process, its REST API, WebSocket stream and metrics, and kill -9 recovery."""

from __future__ import annotations

import json
import math
import signal

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from conftest import eventually

NO_STRATEGY = ("--set", "strategy.enabled=false")
TOKEN = "e2e-test-token-0123456789abcdefghij"   # the book refuses tokens under 32 characters


def _stream(book, types="Quote,OrderFilled"):
    return connect(f"{book.ws_url}?types={types}", additional_headers=book.headers, open_timeout=10)


def _receive_until(ws, predicate, timeout=10.0):
    "Return the first message (decoded) satisfying `predicate`, reading at most `timeout` seconds."
    seen = []

    def next_match():
        msg = json.loads(ws.recv(timeout=timeout))
        seen.append(msg["type"])
        return msg if predicate(msg) else None

    return eventually(next_match, timeout=timeout, interval=0, message=f"stream saw {seen[-20:]}")


def _metric(book, name, **labels):
    "Return the value of one sample in /metrics, or None."
    want = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else "")
    for line in httpx.get(book.metrics_url, timeout=5).text.splitlines():
        if line.startswith(want + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def _book_state(book):
    pos = book.get("/api/v1/positions").json()
    return {"cash": pos["cash"], "positions": {p["instrument_id"]: (p["qty"], p["avg_price"], p["realized_pnl"])
                                               for p in pos["positions"]},
            "orders": {o["client_order_id"]: (o["status"], o["filled_qty"])
                       for o in book.get("/api/v1/orders").json()["orders"]}}


def test_rest_order_fills_on_stream_and_metrics_then_survives_kill_9(start_book, tmp_path):
    book = start_book(tmp_path, token=TOKEN, speed=60, extra_args=NO_STRATEGY)
    with _stream(book) as ws:
        msft = _receive_until(ws, lambda m: m["type"] == "Quote" and m["instrument_id"] == "MSFT")
        r = book.post("/api/v1/orders", {"symbol": "AAPL", "side": "buy", "qty": 100, "client_order_id": "e2e-1"})
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "filled" and r.json()["filled_qty"] == 100
        fill = _receive_until(ws, lambda m: m["type"] == "OrderFilled" and m["client_order_id"] == "e2e-1")
    assert fill["qty"] == 100 and fill["side"] == 1 and fill["price"] > 0
    assert _metric(book, "ultimate_fills_total", instrument="AAPL") == 1.0
    assert _metric(book, "ultimate_fill_qty_total", instrument="AAPL", side="buy") == 100.0
    mid = eventually(lambda: next(p["mark"] for p in book.get("/api/v1/positions").json()["positions"]
                                  if p["instrument_id"] == "AAPL"))
    below = round(0.97 * (msft["bid"] + msft["ask"]) / 2, 2)      # inside the 5% collar, far from the market
    resting = book.post("/api/v1/orders", {"symbol": "MSFT", "side": "buy", "qty": 5, "type": "limit",
                                           "limit_price": below, "tif": "gtc", "client_order_id": "e2e-2"})
    assert resting.status_code == 201 and resting.json()["status"] == "accepted", resting.text
    before = _book_state(book)
    assert before["positions"]["AAPL"][0] == 100 and math.isfinite(mid)

    book.kill(signal.SIGKILL)
    assert book.proc.returncode == -signal.SIGKILL
    book.start()

    after = _book_state(book)
    assert after == before
    again = book.post("/api/v1/orders", {"symbol": "AAPL", "side": "buy", "qty": 100, "client_order_id": "e2e-1"})
    assert again.status_code == 200 and again.json()["filled_qty"] == 100     # idempotent: not filled twice
    assert _book_state(book)["positions"]["AAPL"][0] == 100
    assert book.get("/api/v1/orders?status=open").json()["orders"][0]["client_order_id"] == "e2e-2"
    canceled = httpx.delete(f"{book.rest_url}/api/v1/orders/e2e-2", headers=book.headers, timeout=5)
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"


def test_sigterm_stops_cleanly_and_restart_keeps_positions(start_book, tmp_path):
    book = start_book(tmp_path, token=TOKEN, speed=60, extra_args=NO_STRATEGY)
    assert book.post("/api/v1/orders", {"symbol": "SPY", "side": "sell", "qty": 30}).status_code == 201
    before = _book_state(book)
    assert book.kill(signal.SIGTERM) == 0
    book.start()
    assert _book_state(book) == before
    assert _book_state(book)["positions"]["SPY"][0] == -30


def test_bad_input_gets_4xx_with_reason_and_loop_keeps_running(start_book, tmp_path):
    book = start_book(tmp_path, token=TOKEN, speed=60, extra_args=NO_STRATEGY)
    url = f"{book.rest_url}/api/v1/orders"
    assert httpx.get(f"{book.rest_url}/api/v1/positions", timeout=5).status_code == 401
    assert httpx.post(url, json={"symbol": "AAPL", "side": "buy", "qty": 1},
                      headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    malformed = httpx.post(url, content=b'{"symbol": "AAPL", "side": ', timeout=5,
                           headers={**book.headers, "content-type": "application/json"})
    assert malformed.status_code == 422
    unknown = book.post("/api/v1/orders", {"symbol": "NOPE", "side": "buy", "qty": 1})
    assert unknown.status_code == 422 and "unknown symbol" in unknown.json()["detail"]
    nan_quote = httpx.post(f"{book.rest_url}/api/v1/marketdata", headers={**book.headers,
                           "content-type": "application/json"}, timeout=5,
                           content=b'{"type": "Quote", "instrument_id": "AAPL", "bid": NaN, "ask": 190.0, '
                                   b'"bid_size": 1, "ask_size": 1, "ts_event": 1, "ts_init": 1}')
    assert nan_quote.status_code == 422 and "bid" in nan_quote.json()["detail"]
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{book.ws_url}?token=wrong", open_timeout=10)
    assert refused.value.response.status_code == 403
    assert _metric(book, "ultimate_bad_events_total", source="rest", reason="invalid") == 1.0
    quotes = _metric(book, "ultimate_events_total", type="Quote")
    eventually(lambda: _metric(book, "ultimate_events_total", type="Quote") > quotes, message="quotes flowing")
    assert book.health().json()["status"] == "ok"
    ok = book.post("/api/v1/orders", {"symbol": "AAPL", "side": "buy", "qty": 1})
    assert ok.status_code == 201 and ok.json()["status"] == "filled"


def test_builtin_strategy_trades_in_accelerated_time(start_book, tmp_path):
    book = start_book(tmp_path, token=TOKEN, speed=1200,
                      extra_args=("--set", "strategy.fast=2", "--set", "strategy.slow=4"))

    def strategy_orders():
        return [o for o in book.get("/api/v1/orders").json()["orders"] if o["strategy_id"] == "mac"]

    orders = eventually(strategy_orders, timeout=30, message="strategy orders")
    assert all(o["status"] in ("filled", "submitted", "accepted", "partially_filled") for o in orders)
    assert _metric(book, "ultimate_orders_total", status="filled") >= 1
