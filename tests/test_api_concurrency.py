"""Many REST clients at once against a running book: positions and cash stay equal to the fills.

The REST handlers run on the event-loop thread, as the simulator does; before that, FastAPI ran
them on worker threads that raced the market on the OMS, the broker and the bus.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import defaultdict

import httpx
import numpy as np
from websockets.sync.client import connect

from conftest import eventually
from ultimate_nb.core.store import Journal, make_engine

TOKEN = "concurrency-test-token-0123456789abcdef"
THREADS, ORDERS_PER_THREAD = 8, 50
SYMBOLS = ("AAPL", "MSFT", "SPY")
INITIAL_CASH = 1_000_000.0                 # broker.initial_cash default
ARGS = ("--set", "strategy.enabled=false", "--set", "risk.max_orders_per_second=1000000")


def _mids(book) -> dict[str, float]:
    "Return the first quoted mid of every symbol, read from the stream."
    mids: dict[str, float] = {}
    with connect(f"{book.ws_url}?types=Quote", additional_headers=book.headers, open_timeout=10) as ws:
        deadline = time.monotonic() + 15
        while len(mids) < len(SYMBOLS) and time.monotonic() < deadline:
            q = json.loads(ws.recv(timeout=10))
            mids.setdefault(q["instrument_id"], (q["bid"] + q["ask"]) / 2)
    assert set(mids) == set(SYMBOLS), mids
    return mids


def _trader(book, seed: int, mids: dict[str, float], codes: list, errors: list) -> None:
    "Place limit orders (half marketable, half resting) and cancel some of the resting ones."
    rng = np.random.default_rng(seed)
    resting: list[str] = []
    try:
        with httpx.Client(base_url=book.rest_url, headers=book.headers, timeout=20) as http:
            for i in range(ORDERS_PER_THREAD):
                sym, side = SYMBOLS[rng.integers(3)], ("buy", "sell")[rng.integers(2)]
                # a marketable limit crosses the spread by 1%; a resting one waits 0.05% to 1% away
                away = -0.01 if rng.random() < 0.5 else rng.uniform(0.0005, 0.01)
                px = mids[sym] * (1 - away if side == "buy" else 1 + away)
                cid = f"t{seed}-{i}"
                r = http.post("/api/v1/orders", json={"symbol": sym, "side": side, "qty": int(rng.integers(1, 20)),
                                                      "type": "limit", "limit_price": round(px, 2), "tif": "gtc",
                                                      "client_order_id": cid})
                codes.append(("post", r.status_code))
                if r.status_code == 201 and r.json()["leaves_qty"] > 0:
                    resting.append(cid)
                if resting and rng.random() < 0.4:
                    r = http.delete(f"/api/v1/orders/{resting.pop(int(rng.integers(len(resting))))}")
                    codes.append(("cancel", r.status_code))
    except Exception as e:  # reported by the test, with the thread's seed
        errors.append((seed, repr(e)))


def _cancel_all(http: httpx.Client) -> bool:
    "Cancel every open order; return True once none is open."
    open_ = http.get("/api/v1/orders?status=open&limit=10000").json()["orders"]
    for o in open_:
        http.delete(f"/api/v1/orders/{o['client_order_id']}")
    return not open_


def _metric_samples(book, name: str) -> list[tuple[str, float]]:
    text = httpx.get(book.metrics_url, timeout=5).text
    return [(ln.split(" ")[0], float(ln.rsplit(" ", 1)[1])) for ln in text.splitlines() if ln.startswith(name)]


def test_orders_from_many_threads_keep_positions_and_cash_equal_to_fills(start_book, tmp_path):
    book = start_book(tmp_path, token=TOKEN, speed=600, extra_args=ARGS)
    mids = _mids(book)
    codes: list[tuple[str, int]] = []
    errors: list[tuple[int, str]] = []
    threads = [threading.Thread(target=_trader, args=(book, 100 + k, mids, codes, errors)) for k in range(THREADS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "traders did not finish within 120 s"
    assert time.monotonic() - t0 < 120 and not errors, errors

    # Every answer is one the API documents: placed (201), denied (422), canceled (200) or already closed (409)
    posts = [c for kind, c in codes if kind == "post"]
    assert len(posts) == THREADS * ORDERS_PER_THREAD
    assert set(posts) <= {201, 422} and posts.count(201) >= 0.9 * len(posts), sorted(set(posts))
    assert {c for kind, c in codes if kind == "cancel"} <= {200, 409}

    with httpx.Client(base_url=book.rest_url, headers=book.headers, timeout=10) as http:
        eventually(lambda: _cancel_all(http), timeout=30, message="open orders left")
        orders = http.get("/api/v1/orders?limit=10000").json()["orders"]
        snap = http.get("/api/v1/positions").json()
    assert len(orders) == THREADS * ORDERS_PER_THREAD
    assert all(o["status"] in ("filled", "canceled", "denied") for o in orders)

    qty: dict[str, int] = defaultdict(int)
    cash = INITIAL_CASH
    for o in orders:
        sign = 1 if o["side"] == "buy" else -1
        qty[o["symbol"]] += sign * o["filled_qty"]
        cash -= sign * o["filled_qty"] * (o["avg_fill_price"] or 0.0) + o["fees"]
    held = {p["instrument_id"]: p["qty"] for p in snap["positions"]}
    assert {s: q for s, q in qty.items() if q} == {s: q for s, q in held.items() if q}
    assert abs(snap["cash"] - cash) < 0.05, (snap["cash"], cash)
    assert sum(o["filled_qty"] for o in orders) > 0 and any(o["status"] == "canceled" for o in orders)

    assert not snap["halted"] and book.health().json()["status"] == "ok"
    assert _metric_samples(book, "ultimate_bus_handler_errors_total") == []
    assert [s for s, _ in _metric_samples(book, "ultimate_http_requests_total") if 'code="5' in s] == []

    # The journal, read after a clean stop, holds the same fills
    assert book.kill(signal.SIGTERM) == 0
    journal = Journal(make_engine(None, book.var_dir))
    try:
        from_journal: dict[str, int] = defaultdict(int)
        for e in journal.read(stream="orders"):
            if e.type == "OrderFilled":
                from_journal[e.payload["instrument_id"]] += int(e.payload["side"]) * e.payload["qty"]
    finally:
        journal.close()
    assert {s: q for s, q in from_journal.items() if q} == {s: q for s, q in qty.items() if q}
