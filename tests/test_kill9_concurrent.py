"""kill -9 in the middle of concurrent orders: every order the book acknowledged (201, or 200 for a
repeat) is in the restarted book, with the fill it reported.

The journal's promise (nbs/00_core/07_store.ipynb, "Group commit"): `submit_order` runs inside one
journal batch, and the REST handler answers only after that batch has committed (SQLite WAL,
`synchronous=NORMAL`: a committed transaction survives the death of the process). Several client
threads POST market orders as fast as the book answers; the test kills the book with SIGKILL while
they are still sending, restarts it on the same journal and compares."""

from __future__ import annotations

import signal
import threading
import time

import httpx

TOKEN = "kill9-concurrent-token-0123456789abcdef"
CLIENTS = 4


def _client(book, k: int, acked: dict, failed: list, stop: threading.Event) -> None:
    "POST market orders until `stop` or the book dies; keep every acknowledged answer."
    with httpx.Client(base_url=book.rest_url, headers=book.headers, timeout=5.0) as c:
        i = 0
        while not stop.is_set():
            i += 1
            cid = f"k9-{k}-{i}"
            body = {"symbol": "AAPL" if i % 2 else "MSFT", "side": "buy" if (i // 2) % 2 else "sell",
                    "qty": 1 + i % 7, "client_order_id": cid}
            try:
                r = c.post("/api/v1/orders", json=body)
            except httpx.HTTPError:       # the book died under this request: not acknowledged
                failed.append(cid)
                return
            if r.status_code in (200, 201):
                acked[cid] = r.json()


def test_every_acknowledged_order_and_fill_survives_kill_9_under_concurrent_clients(start_book, tmp_path):
    book = start_book(tmp_path, token=TOKEN, speed=60, extra_args=("--set", "strategy.enabled=false"))
    acked: dict[str, dict] = {}
    failed: list[str] = []
    stop = threading.Event()
    threads = [threading.Thread(target=_client, args=(book, k, acked, failed, stop), daemon=True)
               for k in range(CLIENTS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 40 and time.monotonic() < deadline:   # mid-stream: the clients are still sending
        time.sleep(0.02)
    book.kill(signal.SIGKILL)
    assert book.proc.returncode == -signal.SIGKILL
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) >= 40, f"only {len(acked)} orders acknowledged before the kill"

    book.start()
    orders = {o["client_order_id"]: o for o in book.get("/api/v1/orders", params={"limit": 10_000}).json()["orders"]}
    lost = sorted(set(acked) - set(orders))
    assert not lost, f"{len(lost)} acknowledged orders lost, e.g. {lost[:5]}"
    for cid, a in acked.items():
        o = orders[cid]
        assert (o["status"], o["filled_qty"]) == (a["status"], a["filled_qty"]), (cid, a, o)
        assert o["avg_fill_price"] == a["avg_fill_price"], (cid, a, o)   # the fill it reported, exactly
    assert any(a["status"] == "filled" for a in acked.values())
