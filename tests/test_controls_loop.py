"""Controls inside one process: the daily-loss ladder on a simulated clock, halting cancels working
orders, a WebSocket client that never reads cannot stall the loop (its drops are counted), and the
API token is compared with `hmac.compare_digest`."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import httpx
import uvicorn
from fastapi.testclient import TestClient
from websockets.asyncio.client import connect

import ultimate_nb.live.api as api
from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Order, OrderStatus
from ultimate_nb.live.system import TradingSystem

START = 1_767_364_200_000_000_000          # 2026-01-02 14:30 UTC, 09:30 in New York
BAR_TICKS = 60 * 1000 // 250               # default bar_seconds / tick_ms
TOKEN = "controls-test-token-0123456789abcdef"


def make_book(var_dir: Path, **sections) -> TradingSystem:
    settings = load_settings(overrides={"store": {"var_dir": str(var_dir)}, "strategy": {"enabled": False},
                                        **sections}, env_file=None)
    return TradingSystem(settings, clock=SimClock(start_ns=START))


def test_day_loss_switches_to_reducing_then_halted_and_halting_cancels_working_orders(tmp_path):
    book = make_book(tmp_path, risk={"daily_loss_reducing": 20.0, "daily_loss_halt": 1e6})
    book.run_simulated(BAR_TICKS)                                   # the first bar opens the day
    opening = book.controls.day_start_equity
    assert opening == 1_000_000.0 and book.controls.day == "2026-01-02"
    # A round trip of 1,000 shares costs the spread, slippage and fees: a certain loss above 20 USD
    assert book.submit_order(Order("rt-buy", "AAPL", "buy", 1_000)).status is OrderStatus.FILLED
    assert book.submit_order(Order("rt-sell", "AAPL", "sell", 1_000)).status is OrderStatus.FILLED
    assert book.oms.account.cash < opening - 20.0
    assert (book.controls.state.value, book.controls.last.actor) == ("reducing", "auto:daily_loss")

    far = round(book.marks["MSFT"] * 0.97, 2)
    book.set_trading_state("active", "limits reviewed")              # an operator resumes trading
    book.run_simulated(1)                                            # ... the rule looks again at the next fill or bar
    resting = book.submit_order(Order("rest", "MSFT", "buy", 5, "limit", limit_price=far, tif="gtc"))
    assert resting.status is OrderStatus.ACCEPTED
    book.update_settings({"risk.daily_loss_halt": 25.0})
    book.run_simulated(BAR_TICKS)                                    # the next bar applies the rule
    assert (book.controls.state.value, book.controls.last.actor) == ("halted", "auto:daily_loss")
    assert book.oms.order("rest").status is OrderStatus.CANCELED     # cancel_on_halt
    assert book.metrics.value("ultimate_trading_state") == 2.0
    book.close()

    again = make_book(tmp_path)                                       # restart: same day, same opening equity
    assert (again.controls.state.value, again.controls.day_start_equity) == ("halted", opening)
    assert again.oms.order("rest").status is OrderStatus.CANCELED
    again.close()


async def _wait(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


def _tiny_window_socket(port: int) -> socket.socket:
    "Return a socket connected to `port` whose receive buffer is tiny, so an unread stream backs up at once."
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    return s


async def _slow_client_scenario(tmp_path) -> dict:
    book = make_book(tmp_path)
    server = uvicorn.Server(uvicorn.Config(api.create_ws_app(book, TOKEN, maxsize=64), host="127.0.0.1", port=0,
                                           log_config=None, lifespan="off"))
    # Small kernel buffers on both ends, so an unread stream backs up after kilobytes, not megabytes
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    listener.bind(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    loop = asyncio.get_running_loop()
    try:
        await _wait(lambda: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"ws://127.0.0.1:{port}/stream?types=Quote&token={TOKEN}"
        async with connect(url, sock=_tiny_window_socket(port), max_queue=1, close_timeout=0.5) as slow, \
                connect(url) as fast:                                 # `slow` is never read
            await _wait(lambda: sum(n.startswith("ws-") for n in book.bus.stats()["subscriptions"]) == 2)
            received: list[dict] = []

            async def drain():
                async for msg in fast:
                    received.append(json.loads(msg))

            reader = asyncio.create_task(drain())
            lags, t0 = [], loop.time()
            for _ in range(150):
                book.run_simulated(50)                      # 150 quotes at once: more than a buffer holds
                t = loop.time()
                await asyncio.sleep(0)
                lags.append(loop.time() - t)
            elapsed = loop.time() - t0
            last_ts = book.simulator.now_ns
            await _wait(lambda: received and received[-1]["ts_event"] == last_ts)
            subs = {n: s for n, s in book.bus.stats()["subscriptions"].items() if n.startswith("ws-")}
            slow_name = max(subs, key=lambda n: subs[n]["qsize"])
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api.create_metrics_app(book)),
                                         base_url="http://m") as m:
                scraped = (await m.get("/metrics")).text
            reader.cancel()
        return {"lags": lags, "elapsed": elapsed, "subs": subs, "scraped": scraped,
                "quotes": len(received), "metrics": book.metrics, "slow": slow_name,
                "left": book.bus.stats()["subscriptions"]}
    finally:
        server.should_exit = True
        await task
        book.close()


def test_client_that_never_reads_does_not_stall_the_loop_and_its_drops_are_counted(tmp_path):
    out = asyncio.run(_slow_client_scenario(tmp_path))
    assert max(out["lags"]) < 0.5, max(out["lags"])                 # the loop never waited for the slow client
    assert out["elapsed"] < 60, out["elapsed"]
    assert all(s["qsize"] <= s["maxsize"] == 64 for s in out["subs"].values()), out["subs"]
    slow = out["subs"][out["slow"]]
    assert slow["qsize"] == 64, out["subs"]                         # its handler is stuck sending: the buffer is full
    assert all(s["dropped"] <= slow["dropped"] for s in out["subs"].values())
    assert not any(n.startswith("ws-") for n in out["left"])        # both subscriptions closed when the clients left
    dropped = sum(s["dropped"] for s in out["subs"].values())
    assert dropped > 0
    line = next(ln for ln in out["scraped"].splitlines() if ln.startswith("ultimate_ws_dropped_total "))
    assert float(line.split()[1]) == dropped                        # the scrape brought the counter up to date
    assert out["quotes"] > 0                                        # the fast client saw the last quote
    # After both clients left, the counter holds every drop, the final ones included
    assert out["metrics"].value("ultimate_ws_dropped_total") >= dropped
    assert out["metrics"].value("ultimate_bus_handler_errors_total", handler="ws_stream") is None   # a quiet end
    print(f"max loop lag {max(out['lags']) * 1e3:.1f} ms, dropped {dropped}, fast client got {out['quotes']} quotes")


def test_api_token_is_compared_with_compare_digest(tmp_path, monkeypatch):
    calls = []
    real = api.hmac.compare_digest

    def spy(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(api.hmac, "compare_digest", spy)
    book = make_book(tmp_path)
    try:
        rest = TestClient(api.create_rest_app(book, TOKEN))
        assert rest.get("/api/v1/trading-state", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert rest.get("/api/v1/trading-state", headers={"Authorization": "Bearer " + "x" * 36}).status_code == 401
        with TestClient(api.create_ws_app(book, TOKEN)).websocket_connect(f"/stream?token={TOKEN}&types=Quote"):
            pass
    finally:
        book.close()
    assert calls == [(len(TOKEN), len(TOKEN)), (36, len(TOKEN)), (len(TOKEN), len(TOKEN))]
