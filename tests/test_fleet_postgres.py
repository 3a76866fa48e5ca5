"""Two books as processes on one PostgreSQL journal, and the fleet view across them.

Each book runs `python -m ultimate_nb.live` with its own ports, token and `store.book_id` on the same
`store.url`; the journal of each lives in its own schema (`book_<id>`). The test places orders in
both over REST, checks that neither sees the other's orders (the same client order id included),
that a `kill -9` and restart of one book recovers its own orders only, and that
`python -m ultimate_nb.live.fleet` sums both books, shows the killed one as down and stale with
its last-seen time while it is away, and as up again after the restart. The PostgreSQL server
comes from `.ci/postgres.sh` (skipped where none can be had).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from conftest import eventually, free_port

TOKENS = {"a": "book-a-token-0123456789abcdef0123456789", "b": "book-b-token-0123456789abcdef0123456789"}
FLEET_TOKEN = "fleet-token-0123456789abcdef0123456789"
ORDERS = {   # client order id -> (symbol, side, qty); "same-id" is placed in both books
    "a": {"same-id": ("AAPL", "buy", 10), "a-msft": ("MSFT", "sell", 5)},
    "b": {"same-id": ("AAPL", "buy", 7), "b-spy": ("SPY", "buy", 3)},
}


def _start_books(start_book, tmp_path, pg_url):
    def start(book_id):
        return start_book(tmp_path / book_id, token=TOKENS[book_id], extra_args=[
            "--set", f"store.url={pg_url}", "--set", f"store.book_id={book_id}", "--set", "strategy.enabled=false"])
    with ThreadPoolExecutor(2) as ex:            # both start at once: half the wait
        return dict(zip("ab", ex.map(start, "ab")))


def _place_and_fill(book, orders):
    for cid, (sym, side, qty) in orders.items():
        r = book.post("/api/v1/orders", {"symbol": sym, "side": side, "qty": qty, "client_order_id": cid})
        assert r.status_code == 201, r.text      # 201: new in this book, though the other has "same-id" too

    def filled():
        return all(book.get(f"/api/v1/orders/{cid}").json()["status"] == "filled" for cid in orders)
    eventually(filled, timeout=20, message="orders filled")


def _state(book):
    orders = {o["client_order_id"]: (o["symbol"], o["side"], o["qty"]) for o in book.get("/api/v1/orders").json()["orders"]}
    acct = book.get("/api/v1/positions").json()
    return orders, {p["instrument_id"]: p["qty"] for p in acct["positions"]}, acct


def _start_fleet(tmp_path, books):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ULTIMATE_")}
    env.update(PYTHONUNBUFFERED="1", ULTIMATE_FLEET_API_TOKEN=FLEET_TOKEN,
               **{f"ULTIMATE_FLEET_TOKEN_{n.upper()}": TOKENS[n] for n in books})
    spec = ",".join(f"{n}={b.rest_url}" for n, b in books.items())
    err = open(tmp_path / "fleet.stderr", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "ultimate_nb.live.fleet", "--books", spec, "--port", str(port),
                             "--interval", "0.2"], cwd=tmp_path, env=env, stdout=err, stderr=err)
    url = f"http://127.0.0.1:{port}"
    eventually(lambda: httpx.get(f"{url}/health", timeout=2).status_code == 200, timeout=30, message="fleet /health")
    return proc, url


def _fleet(url, path="/api/v1/fleet"):
    r = httpx.get(url + path, headers={"Authorization": f"Bearer {FLEET_TOKEN}"}, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def test_two_books_share_postgres_apart_and_the_fleet_sums_them(postgres_url, start_book, tmp_path):
    books = _start_books(start_book, tmp_path, postgres_url)
    for n, b in books.items():
        _place_and_fill(b, ORDERS[n])
    before = {n: _state(b) for n, b in books.items()}
    for n in books:                               # each book sees its own orders and positions, nothing else
        assert before[n][0] == ORDERS[n]
    assert before["a"][1] == {"AAPL": 10, "MSFT": -5} and before["b"][1] == {"AAPL": 7, "SPY": 3}

    eng = create_engine(postgres_url)             # in the database: one schema per book, nothing in public
    with eng.connect() as c:
        rows = {n: [r[0] for r in c.execute(text(f"select payload from book_{n}.journal"))] for n in books}
        assert c.execute(text("select to_regclass('public.journal')")).scalar() is None
    assert any("a-msft" in p for p in rows["a"]) and not any("a-msft" in p for p in rows["b"])
    assert any("b-spy" in p for p in rows["b"]) and not any("b-spy" in p for p in rows["a"])
    eng.dispose()

    fleet, url = _start_fleet(tmp_path, books)
    try:
        view = eventually(lambda: (v := _fleet(url))["books_answering"] == 2 and v, timeout=20)
        assert view["status"] == "ok" and view["complete"]
        for k in ("cash", "fees", "realized_pnl"):   # no strategy runs: these stay put once the orders filled
            assert abs(view["total"][k] - sum(before[n][2][k] for n in books)) < 1e-6
        assert abs(view["total"]["equity"] - sum(r["equity"] for r in view["books"])) < 1e-6
        pos = {p["instrument_id"]: p for p in _fleet(url, "/api/v1/fleet/positions")["positions"]}
        assert {s: p["qty"] for s, p in pos.items()} == {"AAPL": 17, "MSFT": -5, "SPY": 3}
        assert pos["AAPL"]["books"] == {"a": 10, "b": 7}
        fams = {f.name: f for f in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=5).text)}
        qty = {(s.labels["book"], s.labels["instrument"]): s.value for s in fams["ultimate_fleet_position_qty"].samples}
        assert qty == {("a", "AAPL"): 10, ("a", "MSFT"): -5, ("b", "AAPL"): 7, ("b", "SPY"): 3}

        books["a"].kill(signal.SIGKILL)           # book a dies: the view goes on, a shows down and stale
        down = eventually(lambda: (v := _fleet(url))["books_answering"] == 1 and v, timeout=20)
        row = {r["book"]: r for r in down["books"]}
        assert row["a"]["status"] == "down" and row["a"]["stale"] and row["a"]["last_seen_ns"] is not None
        assert row["b"]["status"] == "up" and down["status"] == "degraded" and not down["complete"]
        assert down["stale_books"] == ["a"] and abs(down["total"]["cash"] - view["total"]["cash"]) < 1e-6
        assert fleet.poll() is None               # the view itself is still running

        books["a"].start()                        # restart: a recovers its own journal, only its own
        after = _state(books["a"])
        assert after[0] == ORDERS["a"] and after[1] == before["a"][1]
        assert abs(after[2]["cash"] - before["a"][2]["cash"]) < 1e-6
        assert _state(books["b"])[0] == ORDERS["b"]
        eventually(lambda: _fleet(url)["status"] == "ok", timeout=20, message="fleet sees a again")
    finally:
        fleet.send_signal(signal.SIGTERM)
        assert fleet.wait(15) == 0
