"""The WebSocket stream's endings: a client leaving is quiet, any other failure is logged and counted.

A real uvicorn server in this process, on the same event loop as the book (as `LiveRunner` runs
it), so the bus is published on its own thread.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

import ultimate_nb.live.api as api
from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.live.system import TradingSystem

TOKEN = "ws-test-token-0123456789abcdefghijkl"


async def _wait(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


async def _serve_and_stream(tmp_path, client):
    "Serve /stream for a SimClock book, run `client(book, url)` against it, return the book's metrics."
    settings = load_settings(overrides={"store": {"var_dir": str(tmp_path)}, "strategy": {"enabled": False}},
                             env_file=None)
    book = TradingSystem(settings, clock=SimClock(start_ns=1_767_275_400_000_000_000))
    server = uvicorn.Server(uvicorn.Config(api.create_ws_app(book, TOKEN), host="127.0.0.1", port=0,
                                           log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        await _wait(lambda: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        await client(book, f"ws://127.0.0.1:{port}/stream?types=Quote&token={TOKEN}")
        await _wait(lambda: book.metrics.value("ultimate_ws_clients") == 0)   # the handler has finished
        return book.metrics
    finally:
        server.should_exit = True
        await task
        book.close()


def _subscribed(book) -> bool:
    return any(n.startswith("ws-") for n in book.bus.stats()["subscriptions"])


def test_client_leaving_ends_the_stream_quietly(tmp_path, caplog):
    async def leave(book, url):
        async with connect(url) as ws:
            await _wait(lambda: _subscribed(book))
            book.run_simulated(1)
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "Quote"
        for _ in range(20):                  # quotes after the client left: the send finds it gone
            book.run_simulated(1)
            await asyncio.sleep(0.01)
            if not _subscribed(book):
                break

    with caplog.at_level(logging.WARNING):
        metrics = asyncio.run(_serve_and_stream(tmp_path, leave))
    assert metrics.value("ultimate_bus_handler_errors_total", handler="ws_stream") is None
    assert [r for r in caplog.records if r.name == api.log.name] == []


def test_failure_while_streaming_is_logged_with_subscription_and_counted(tmp_path, caplog, monkeypatch):
    def broken(ev):
        raise TypeError("cannot encode")

    monkeypatch.setattr(api, "to_record", broken)

    async def watch(book, url):
        async with connect(url) as ws:
            await _wait(lambda: _subscribed(book))
            name = next(n for n in book.bus.stats()["subscriptions"] if n.startswith("ws-"))
            book.run_simulated(1)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd.code == 1011
        watch.name = name

    with caplog.at_level(logging.ERROR, logger=api.log.name):
        metrics = asyncio.run(_serve_and_stream(tmp_path, watch))
    assert metrics.value("ultimate_bus_handler_errors_total", handler="ws_stream") == 1.0
    errors = [r for r in caplog.records if r.name == api.log.name and r.levelno == logging.ERROR]
    assert len(errors) == 1 and watch.name in errors[0].args and isinstance(errors[0].exc_info[1], TypeError)
