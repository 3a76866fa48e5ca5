"""apps/live_monitor.ipynb against a real book: run headless with nbclient, and served by Voila.

Voila renders the notebook server-side, but a widget's values live in the kernel and reach the
page over the kernel's WebSocket, so the Voila test opens the page in headless Chromium
(tests/browser_support.py) and reads the tables the browser shows, then waits for an auto-refresh.
"""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import nbclient
import nbformat
from conftest import eventually, free_port

REPO = Path(__file__).resolve().parents[1]
MONITOR = REPO / "apps" / "live_monitor.ipynb"
TOKEN = "monitor-token-0123456789abcdef0123456789"  # >= 32 characters, as the book requires


# -- HTML TABLES --


class _Tables(HTMLParser):
    "Collect the text of every <table> as a list of rows of cell strings."

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(page: str) -> dict[str, list[dict[str, str]]]:
    "Return the tables of `page` as records, keyed by their first column name."
    p = _Tables()
    p.feed(page)
    return {t[0][0]: [dict(zip(t[0], row, strict=False)) for row in t[1:]] for t in p.tables if t}


def assert_shows_book(page: str, symbol: str, qty: int) -> None:
    "Assert that the dashboard HTML shows an ok book holding `qty` of `symbol`."
    assert "<h3>Health: ok</h3>" in page
    t = tables(page)
    assert {r["component"] for r in t["component"]} >= {"journal", "oms", "broker", "feed"}
    assert all(r["status"] == "ok" for r in t["component"])
    assert [(r["symbol"], r["qty"]) for r in t["symbol"]] == [(symbol, str(qty))]
    assert float(t["cash"][0]["equity"].replace(",", "")) > 0
    assert any(
        r["symbol"] == symbol and r["status"] == "filled" for r in t["time"]
    )  # recent orders


# -- HELPERS --


def book_with_position(start_book, tmp_path, symbol="MSFT", qty=300, var_dir=None, token=TOKEN):
    "Start a book with the strategy off (so the position stays put) and buy `qty` of `symbol`."
    book = start_book(
        tmp_path / "book",
        token=token,
        speed=60,
        extra_args=("--set", "strategy.enabled=false"),
        var_dir=var_dir,
    )
    if not token:  # the book generated one into <var dir>/api_token
        book.token = (book.var_dir / "api_token").read_text().strip()
    r = book.post("/api/v1/orders", json={"symbol": symbol, "side": "buy", "qty": qty})
    assert r.status_code == 201, r.text
    eventually(
        lambda: any(
            p["instrument_id"] == symbol and p["qty"] == qty
            for p in book.get("/api/v1/positions").json()["positions"]
        )
    )
    return book


def monitor_env(url: str, token: str = TOKEN, tmp_path: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ULTIMATE_")}
    env.update(ULTIMATE_API_URL=url, ULTIMATE_SERVER__API_TOKEN=token)
    if tmp_path is not None:
        env["JUPYTER_RUNTIME_DIR"] = str(
            tmp_path / "jupyter-runtime"
        )  # keep Voila's files out of ~
        env["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter-data")
    return env


def execute_monitor(env: dict[str, str], monkeypatch, cwd: Path = MONITOR.parent) -> str:
    "Run the dashboard headless; return the HTML of its widgets (the saved widget state)."
    for k in [k for k in os.environ if k.startswith("ULTIMATE_")]:
        monkeypatch.delenv(k)
    for k, v in env.items():
        if k.startswith("ULTIMATE_"):
            monkeypatch.setenv(k, v)  # the kernel inherits this process's environment
    nb = nbformat.read(MONITOR, as_version=4)
    nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(cwd)}}
    ).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return "\n".join(s["state"]["value"] for s in states.values() if s["model_name"] == "HTMLModel")


# -- HEADLESS --


def test_monitor_notebook_shows_position_and_ok_health_of_running_book(
    start_book, tmp_path, monkeypatch
):
    book = book_with_position(start_book, tmp_path)
    page = execute_monitor(monitor_env(book.rest_url), monkeypatch)
    assert_shows_book(page, "MSFT", 300)
    assert "book unreachable" not in page


def test_monitor_notebook_with_book_down_says_unreachable(tmp_path, monkeypatch):
    page = execute_monitor(monitor_env(f"http://127.0.0.1:{free_port()}"), monkeypatch)
    assert "book unreachable: ConnectError" in page


def test_monitor_notebook_without_token_says_where_it_looked_and_sends_nothing(
    tmp_path, monkeypatch
):
    root = tmp_path / "repo"
    (root / "apps").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    env = monitor_env(f"http://127.0.0.1:{free_port()}")
    del env["ULTIMATE_SERVER__API_TOKEN"]
    page = execute_monitor(env, monkeypatch, cwd=root / "apps")
    assert f"no API token found at {root / 'var' / 'api_token'}" in page
    assert "book unreachable" not in page  # no request was sent


def test_monitor_notebook_with_wrong_token_says_unauthorized(start_book, tmp_path, monkeypatch):
    book = start_book(tmp_path / "book", token=TOKEN)
    page = execute_monitor(monitor_env(book.rest_url, token="wrong"), monkeypatch)
    assert "book unreachable: HTTP 401" in page


# -- VOILA --


def checkout_with_monitor(tmp_path: Path) -> Path:
    "Return a folder laid out like the repository: pyproject.toml and apps/live_monitor.ipynb."
    root = tmp_path / "checkout"
    (root / "apps").mkdir(parents=True)
    (root / "pyproject.toml").write_bytes((REPO / "pyproject.toml").read_bytes())
    (root / "apps" / MONITOR.name).write_bytes(MONITOR.read_bytes())
    return root


def test_voila_serves_monitor_with_live_position(start_book, tmp_path):
    # As the README says: `voila apps/live_monitor.ipynb` from the repository root, with no token
    # in the environment; the book generated var/api_token there and the app must find it. The page
    # is opened in headless Chromium (tests/browser_support.py), which runs the widgets' JavaScript.
    from browser_support import VoilaServer, chromium_path, open_app, tables
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    root = checkout_with_monitor(tmp_path)
    book = book_with_position(start_book, tmp_path, var_dir=root / "var", token="")
    assert (root / "var" / "api_token").read_text().strip() == book.token
    env = monitor_env(book.rest_url, tmp_path=tmp_path)
    del env["ULTIMATE_SERVER__API_TOKEN"]
    server = VoilaServer(tmp_path, {k: v for k, v in env.items() if k.startswith("ULTIMATE_")}, root=root)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
            page = open_app(browser, server, MONITOR.name, ".um-book table")
            eventually(lambda: "Health: ok" in page.inner_text(".um-book"), timeout=10)
            t = tables(page, ".um-book")
            assert [(r["symbol"], r["qty"]) for r in t["symbol"]] == [("MSFT", "300")]
            assert all(r["status"] == "ok" for r in t["component"])
            updated = page.inner_text(".um-book small")
            eventually(lambda: page.inner_text(".um-book small") != updated, timeout=10)  # auto-refresh
            browser.close()
    finally:
        server.close()


def test_no_app_shows_an_empty_heading():
    "Voila hides code cells, so a markdown cell holding only a heading above code renders as an empty section."
    import json

    for p in sorted((REPO / "apps").glob("*.ipynb")):
        cells = json.loads(p.read_text())["cells"]
        for i, c in enumerate(cells[1:], 1):
            text = "".join(c["source"]).strip()
            lines = [x for x in text.splitlines() if x.strip()]
            if c["cell_type"] == "markdown" and lines and all(x.startswith("#") for x in lines):
                nxt = cells[i + 1] if i + 1 < len(cells) else None
                assert nxt is not None and nxt["cell_type"] == "markdown", f"{p.name} cell {i}: {text!r}"
