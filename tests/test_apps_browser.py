"""Each Voila app in apps/ opened in headless Chromium against one running book: the test waits for the
rendered values, checks them against the book's REST API and saves a screenshot (docs/screenshots/).

One book (strategy off, a position, option chains, the drift desk, an algo parent) and one Voila server
serve the whole module; each app is one entry of `APPS`: its notebook, the CSS selector that says it
has rendered, and a check `(page, book) -> None`. Adding an app is adding an entry.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from browser_support import VoilaServer, chromium_path, number, open_app, save_screenshot, tables
from conftest import Book, eventually

TOKEN = "browser-token-0123456789abcdef0123456789"


@pytest.fixture(scope="module")
def chromium():
    "A headless Chromium (Debian's, driven by Playwright) for the module."
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    "A running book with a MSFT position, SPY option chains, the drift desk, the risk monitor and a TWAP parent."
    base = tmp_path_factory.mktemp("book")
    b = Book(base, base / "var", TOKEN, 60, extra_args=(
        "--set", "strategy.enabled=false", "--set", "market.chains=[SPY]",
        "--set", "drift.enabled=true", "--set", "drift.reference_size=20", "--set", "drift.window_size=10",
        "--set", "drift.check_every=5", "--set", "drift.permutations=19",
        "--set", "risk_monitor.enabled=true", "--set", "risk_monitor.limits=[{metric: delta_usd, warn: 1.0}]"))
    b.start()
    try:
        r = b.post("/api/v1/orders", json={"symbol": "MSFT", "side": "buy", "qty": 300})
        assert r.status_code == 201, r.text
        r = httpx.post(b.rest_url + "/api/v1/algos", headers=b.headers, timeout=30.0,  # the first loads VWAP's curve
                       json={"algo": "twap", "instrument_id": "AAPL", "side": "buy", "qty": 400, "duration_s": 600,
                             "slice_s": 30})
        assert r.status_code == 201, r.text
        b.algo_id = r.json()["parent_id"]
        eventually(lambda: any(p["instrument_id"] == "MSFT" and p["qty"] == 300
                               for p in b.get("/api/v1/positions").json()["positions"]))
        eventually(lambda: b.get("/api/v1/chains/SPY").status_code == 200, timeout=30, message="SPY chain valued")
        yield b
    finally:
        b.kill(signal.SIGTERM)


@pytest.fixture(scope="module")
def voila(book, tmp_path_factory):
    "One Voila server over apps/, reading `book`."
    server = VoilaServer(tmp_path_factory.mktemp("voila"), {
        "ULTIMATE_API_URL": book.rest_url, "ULTIMATE_WS_URL": book.ws_url, "ULTIMATE_SERVER__API_TOKEN": TOKEN})
    yield server
    server.close()


# -- the checks, one per app --


def check_live_monitor(page, book: Book) -> None:
    "Positions and equity as REST gives them; chart points keep arriving from the stream without a reload."
    bars = lambda: int(page.inner_text(".um-bars"))
    n0 = eventually(lambda: bars() >= 3 and bars(), timeout=10, message="bars from the stream")
    eventually(lambda: page.eval_on_selector("img.um-charts", "i => i.complete && i.naturalWidth > 0"),
               timeout=10, message="charts drawn")
    src0 = page.get_attribute("img.um-charts", "src")
    eventually(lambda: bars() > n0 + 2 and page.get_attribute("img.um-charts", "src") != src0, timeout=10,
               message="charts redrawn from the stream")
    def agrees():                          # the book trades on (a TWAP parent): compare one refresh with REST
        rest = book.get("/api/v1/positions").json()
        t = tables(page, ".um-book")
        shown = {r["symbol"]: number(r["qty"]) for r in t["symbol"]}
        assert shown == {p["instrument_id"]: p["qty"] for p in rest["positions"] if p["qty"] != 0}, (shown, rest)
        assert shown["MSFT"] == 300
        assert abs(number(t["cash"][0]["equity"]) / rest["equity"] - 1) < 0.005
        assert abs(number(page.inner_text(".um-equity")) / rest["equity"] - 1) < 0.005
        assert all(r["status"] == "ok" for r in t["component"])
        return True

    eventually(agrees, timeout=15, interval=0.3, message="live monitor agrees with GET /api/v1/positions")


def check_vol_surface(page, book: Book) -> None:
    "The chain's underlying, size, spot and arbitrage report as REST gives them; surface and smiles drawn."
    for img in ("img.um-surface", "img.um-smiles"):
        eventually(lambda: page.eval_on_selector(img, "i => i.complete && i.naturalWidth > 0"), timeout=10)

    def agrees():
        rest = book.get("/api/v1/chains/SPY", params={"limit": 10_000}).json()
        t = tables(page, ".um-vol")
        row = t["underlying"][0]
        shown_arb = {r["check"]: int(r["violations"]) for r in t.get("check", [])}
        expiries = {r["expiry"] for r in rest["rows"] if r["iv_mid"] is not None}
        assert row["underlying"] == "SPY" and int(row["contracts"]) == rest["contracts"], (row, rest["contracts"])
        assert abs(number(row["spot"]) / rest["spot"] - 1) < 0.01, (row, rest["spot"])
        assert 2 <= int(row["expiries"]) <= len(expiries), (row, len(expiries))
        # the counts move with every valuation (each second here): the same checks, each counted
        assert set(shown_arb) == set(rest["arbitrage"]) and all(v > 0 for v in shown_arb.values()), (
            shown_arb, rest["arbitrage"])
        return True

    eventually(agrees, timeout=12, interval=0.5, message="vol surface page agrees with GET /api/v1/chains/SPY")


def check_models(page, book: Book) -> None:
    """The drift desk's level, correction and streams as GET /api/v1/drift gives them, and the monitoring desk
    shown off (its route answers 404). With the strategy off the book computes no features, so no stream."""
    assert book.get("/api/v1/models/monitoring").status_code == 404

    def agrees():
        drift = book.get("/api/v1/drift").json()
        shown = {r["stream"] for r in tables(page).get("stream", [])}
        assert shown == set(drift["streams"]), (shown, drift["streams"])  # none while the strategy is off
        assert f"alpha {drift['alpha']} ({drift['correction']})" in page.inner_text("body")
        return True

    eventually(agrees, timeout=12, interval=0.5, message="models page agrees with GET /api/v1/drift")
    assert "monitoring desk off" in page.inner_text("body")


def check_risk(page, book: Book) -> None:
    "Trading state, limits with their levels and the underlyings' Greeks as GET /api/v1/risk gives them."
    def agrees():
        risk = book.get("/api/v1/risk").json()
        t = tables(page)
        assert {r["limit"]: r["level"] for r in t.get("limit", [])} == {
            x["limit"]: x["level"] for x in risk["limits"]}, (t.get("limit"), risk["limits"])
        assert any(x["level"] == "warn" for x in risk["limits"])          # the MSFT position breaches delta_usd
        assert f"Trading state: {risk['trading_state']}" in page.inner_text("body")
        shown = {r["underlying"] for r in t.get("underlying", [])}
        assert {r["underlying"] for r in risk["greeks"]["by_underlying"]} | {"total"} <= shown, shown
        return True

    eventually(agrees, timeout=15, interval=0.5, message="risk page agrees with GET /api/v1/risk")


def check_tca(page, book: Book) -> None:
    """The TWAP parent's TCA as GET /api/v1/algos/{id}/tca gives it: fills, prices and costs (the mid moves
    between the page's refresh and the request, so the costs it moves agree within 2 bps); the parts shown
    add up to the total, venue shares to 100 %, and the chart is drawn."""
    eventually(lambda: page.eval_on_selector("img.um-tca-chart", "i => i.complete && i.naturalWidth > 0"),
               timeout=10, message="TCA chart drawn")

    def agrees():
        rest = book.get(f"/api/v1/algos/{book.algo_id}/tca").json()
        t = tables(page)
        row = {r["parent_id"]: r for r in t["parent_id"]}[book.algo_id]
        row |= {r["order"]: r for r in t["order"]}[book.algo_id]           # the costs' table
        assert (row["algo"], row["status"], row["side"]) == ("twap", rest["status"], "buy"), (row, rest)
        assert number(row["qty"]) == rest["qty"] == 400 and number(row["filled"]) == rest["filled"], (row, rest)
        for k in ("decision_price", "arrival_price", "avg_price"):
            assert (row[k] == "" and rest[k] is None) or abs(number(row[k]) - rest[k]) < 1e-4, (k, row[k], rest[k])
        for k in ("delay_bps", "impact_bps", "fees_bps"):              # fixed by the fills
            assert abs(number(row[k]) - rest[k]) < 0.006, (k, row[k], rest[k])
        for k in ("is_bps", "timing_bps", "opportunity_bps"):          # move with the mid
            assert abs(number(row[k]) - rest[k]) < 2.0, (k, row[k], rest[k])
        parts = sum(number(row[f"{k}_bps"]) for k in ("delay", "impact", "timing", "opportunity", "fees"))
        assert abs(parts - number(row["is_bps"])) < 0.03, (parts, row["is_bps"])
        if rest["filled"]:
            ven = {r["parent"]: r for r in t["parent"]}[book.algo_id]
            assert abs(sum(number(v) for k, v in ven.items() if k != "parent") - 100) < 0.02, ven
            assert set(ven) - {"parent"} == set(rest["venues"]), (ven, rest["venues"])
        assert rest["market_volume"] > 0, rest                                 # the tape has the market's prints
        assert abs(number(row["participation"]) - rest["participation"]) < 1e-4, (row, rest)
        return True

    eventually(agrees, timeout=15, interval=0.5, message="TCA page agrees with GET /api/v1/algos/{id}/tca")


@dataclass(frozen=True)
class App:
    notebook: str                           # under apps/
    ready: str                              # CSS selector shown once the app has rendered its values
    check: Callable[..., None]              # (page, book) -> None: asserts against the REST API


APPS = [
    App("live_monitor.ipynb", ".um-book table", check_live_monitor),
    App("vol_surface.ipynb", ".um-vol table", check_vol_surface),
    App("models.ipynb", ".widget-html table", check_models),
    App("risk.ipynb", "table.um-table", check_risk),
    App("tca.ipynb", "table.um-tca", check_tca),
]


@pytest.mark.parametrize("app", APPS, ids=lambda a: a.notebook.removesuffix(".ipynb"))
def test_app_in_chromium_shows_the_books_values(app: App, chromium, voila, book, tmp_path):
    t0 = time.monotonic()
    page = open_app(chromium, voila, app.notebook, app.ready)
    try:
        app.check(page, book)
        save_screenshot(page, app.notebook.removesuffix(".ipynb"), tmp_path)
    finally:
        page.close()
    assert time.monotonic() - t0 < 30, "an app's browser test should take well under 30 s"
