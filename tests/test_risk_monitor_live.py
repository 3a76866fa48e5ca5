"""The risk monitor in a SimClock book: a breach switches the trading state and shows on /api/v1/risk and /metrics."""
from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Instrument, Order, OrderSide, Quote
from ultimate_nb.execution.pretrade import TradingState
from ultimate_nb.live import api
from ultimate_nb.live.risk_monitor import RiskLimitBreached, RiskMonitor, RiskMonitorSettings
from ultimate_nb.live.system import TradingSystem

TOKEN = "r" * 32
START = 1_767_275_400_000_000_000


def stub_book(tmp_path):
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path)}, "strategy": {"enabled": False}}, env_file=None)
    return TradingSystem(s, clock=SimClock(start_ns=START))


def list_option(book, inst):
    "List an option contract in the book (`add_instrument` where the book has it)."
    if hasattr(book, "add_instrument"):
        book.add_instrument(inst)
    else:
        book.instruments[inst.symbol] = book.oms.instruments[inst.symbol] = inst


def buy(book, coid, symbol, qty, side=OrderSide.BUY):
    return book.submit_order(Order(coid, symbol, side, qty, ts_init=book.now_ns()))


def test_halt_breach_switches_state_and_shows_on_rest_and_metrics(tmp_path):
    book = stub_book(tmp_path)
    hooks, events = [], []
    book.bus.subscribe(RiskLimitBreached, events.append)
    desk = book.add_desk("risk", RiskMonitor(book, RiskMonitorSettings(
        mc_scenarios=2_000, full_interval_ms=0,
        limits=[{"metric": "var_hist", "warn": 100.0, "halt": 2_000.0}]), on_breach=hooks.append))
    put = Instrument.option("MSFT", 400.0, date(2026, 1, 30), "put")
    list_option(book, put)
    t = book.now_ns()
    book.ingest(Quote(put.symbol, 9.0, 9.4, 100, 100, t, t))
    assert buy(book, "p1", put.symbol, 30, OrderSide.SELL).filled_qty == 30        # naked short puts
    assert book.controls.state is TradingState.HALTED
    assert book.controls.last.actor == "auto:risk_monitor"
    assert [e.level for e in hooks] == ["halt"] and events[-1].action == "halted"
    client = TestClient(api.create_rest_app(book, TOKEN))
    r = client.get("/api/v1/risk", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    body = r.json()
    assert body["trading_state"] == "halted"
    assert body["limits"][0]["level"] == "halt" and body["limits"][0]["value"] > 2_000
    assert body["breaches"][-1]["limit"] == "book:var_hist"
    row = body["greeks"]["by_underlying"][0]
    assert row["underlying"] == "MSFT" and row["gamma"] < 0 and row["dollar_delta"] > 0   # short puts: long delta
    assert body["margin"]["portfolio"] > 0 and body["margin"]["reg_t"] > body["margin"]["portfolio"] * 0.1
    text = book.metrics.render().decode()
    assert 'ultimate_risk_limit_level{limit="book:var_hist"} 3.0' in text
    assert 'ultimate_risk_breaches_total{level="halt",limit="book:var_hist"} 1.0' in text
    assert 'ultimate_trading_state 2.0' in text
    assert buy(book, "more", "MSFT", 10).status.value == "denied"                # halted: nothing goes out
    book.close()
    assert desk.started is False


def test_quotes_rerisk_only_after_a_move_and_the_interval(tmp_path):
    book = stub_book(tmp_path)
    desk = book.add_desk("risk", RiskMonitor(book, RiskMonitorSettings(
        mc_scenarios=1_000, min_interval_ms=1_000, move_threshold=0.01)))
    buy(book, "b1", "AAPL", 100)
    n = desk.stats["rerisks"]
    clock, t = book.clock, book.now_ns()
    mid = book.marks["AAPL"]
    book.ingest(Quote("AAPL", mid * 1.001, mid * 1.0012, 100, 100, t, t))       # 10 bp: under the threshold
    assert desk.stats["rerisks"] == n
    clock.set_time(t + 100_000_000)
    book.ingest(Quote("AAPL", mid * 1.05, mid * 1.0502, 100, 100, t, t))         # moved, but 100 ms later
    assert desk.stats["rerisks"] == n and "AAPL" in desk._dirty
    clock.set_time(t + 2_000_000_000)
    book.ingest(Quote("AAPL", mid * 1.05, mid * 1.0502, 100, 100, t, t))
    assert desk.stats["rerisks"] == n + 1
    assert abs(desk.under["AAPL"]["spot"] - mid * 1.0501) < 1e-6
    book.close()


def test_strategy_limit_and_negative_limit_is_refused(tmp_path):
    book = stub_book(tmp_path)
    desk = book.add_desk("risk", RiskMonitor(book, RiskMonitorSettings(
        mc_scenarios=1_000, limits=[{"metric": "gross", "strategy": "manual", "reduce": 10_000.0}])))
    buy(book, "b1", "SPY", 100)
    assert book.controls.state is TradingState.REDUCING
    assert desk.snapshot()["limits"][0]["scope"] == "manual"
    with pytest.raises(ValueError, match="reduce must be >= 0, was -1"):
        desk.set_limits([{"metric": "gross", "reduce": -1}])
    with pytest.raises(ValueError, match="halt must be >= 0"):
        RiskMonitorSettings(limits=[{"metric": "var_dg", "halt": -5}])
    book.close()


# -- THE RISK APP, HEADLESS --


def serve(app):
    "Serve `app` with uvicorn on a free port in a thread; return (url, server)."
    import threading

    import uvicorn
    from conftest import eventually

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    eventually(lambda: server.started, timeout=20)
    return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", server


def run_app(url: str, token: str, monkeypatch) -> str:
    "Run apps/risk.ipynb headless against `url`; return the HTML of its widgets."
    from pathlib import Path

    import nbclient
    import nbformat

    for k in [k for k in __import__("os").environ if k.startswith("ULTIMATE_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("ULTIMATE_API_URL", url)
    monkeypatch.setenv("ULTIMATE_SERVER__API_TOKEN", token)
    app = Path(__file__).resolve().parents[1] / "apps" / "risk.ipynb"
    nb = nbformat.read(app, as_version=4)
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=60,
                            resources={"metadata": {"path": str(app.parent)}}).execute()
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return "\n".join(s["state"]["value"] for s in states.values() if s["model_name"] == "HTMLModel")


def test_risk_app_shows_greeks_var_limits_and_breaches(tmp_path, monkeypatch):
    book = stub_book(tmp_path)
    book.add_desk("risk", RiskMonitor(book, RiskMonitorSettings(
        mc_scenarios=1_000, full_interval_ms=0, limits=[{"metric": "delta_usd", "warn": 10_000.0}])))
    buy(book, "b1", "SPY", 100)
    url, server = serve(api.create_rest_app(book, TOKEN))
    try:
        page = run_app(url, TOKEN, monkeypatch)
        assert "<h3>Trading state: active</h3>" in page
        assert "<td>SPY</td>" in page and "<td>total</td>" in page
        assert "<td>monte_carlo</td>" in page and "<td>historical</td>" in page
        assert "<td>book:delta_usd</td>" in page and "<td>warn</td>" in page
        assert run_app(url, "wrong-" + TOKEN, monkeypatch).count("book unreachable: HTTP 401") == 1
    finally:
        server.should_exit = True
        book.close()
