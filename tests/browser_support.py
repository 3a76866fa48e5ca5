"""Open the Voila apps in a real headless Chromium: the browser, a Voila server, and a page that waits for widgets.

`chromium_path()` runs `.ci/browser.sh` (which installs Debian's chromium when it is missing and we are
root) and skips the test with its reason when no browser can be had. `VoilaServer` serves the `apps/`
folder of the checkout with one kernel per opened page, reading the book given by `ULTIMATE_API_URL`
/ `ULTIMATE_WS_URL` / `ULTIMATE_SERVER__API_TOKEN`. `open_app` loads one app, waits until its widgets
have rendered and returns the Playwright page; `save_screenshot` writes a small palette PNG.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import REPO, ci_script, eventually, free_port

SCREENSHOTS = REPO / "docs" / "screenshots"


def chromium_path() -> str:
    "Return the path of Debian's Chromium, installing it with .ci/browser.sh; skip when it can't be had."
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (the dev extra): no browser tests")
    run = ci_script("browser.sh")
    if run.returncode == 3:
        pytest.skip(f"no Chromium available: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    return run.stdout.strip().splitlines()[-1]


class VoilaServer:
    "A `voila apps/` subprocess on a free port, in its own process group (teardown ends its kernels too)."

    def __init__(self, log_dir: Path, env: dict[str, str], root: Path = REPO):
        self.port, self.log_path = free_port(), log_dir / "voila.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ULTIMATE_")} | env
        env |= {"JUPYTER_RUNTIME_DIR": str(log_dir / "jupyter-runtime"),   # keep Voila's files out of ~
                "JUPYTER_DATA_DIR": str(log_dir / "jupyter-data"), "PYTHONUNBUFFERED": "1"}
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voila", "apps", "--no-browser", f"--port={self.port}",
             "--Voila.ip=127.0.0.1", "--show_tracebacks=True"],
            cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"voila exited with {self.proc.returncode}")
            return httpx.get(f"http://127.0.0.1:{self.port}/", timeout=5.0).status_code == 200

        try:
            eventually(up, timeout=60, interval=0.2, message="voila answers")
        except AssertionError as e:
            self.close()
            raise AssertionError(f"{e}\n--- voila log ---\n{self.log()}") from None

    def url(self, notebook: str) -> str:
        return f"http://127.0.0.1:{self.port}/voila/render/{notebook}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


def open_app(browser, server: VoilaServer, notebook: str, ready: str, timeout_s: float = 30.0):
    "Open `notebook` in a new page and wait until the CSS selector `ready` is visible; return the page."
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url(notebook), timeout=timeout_s * 1000)
    try:
        page.wait_for_selector(ready, state="visible", timeout=timeout_s * 1000)
    except Exception as e:
        body = page.inner_text("body")[-2000:]
        raise AssertionError(f"{notebook}: {ready} not shown: {e}\n--- page ---\n{body}\n"
                             f"--- page errors ---\n{errors}\n--- voila log ---\n{server.log()}") from None
    text = page.inner_text("body")
    assert "Traceback" not in text, text[-2000:]
    return page


def save_screenshot(page, name: str, out_dir: Path) -> Path:
    """Save a screenshot of the page as a 256-colour PNG under `out_dir`; also under docs/screenshots/
    when that file is missing or UPDATE_SCREENSHOTS=1 (so a plain test run leaves the checkout clean)."""
    from PIL import Image

    raw = out_dir / f"{name}.raw.png"
    # Voila scrolls inside a container, so full_page alone stops at the viewport: grow the viewport
    height = page.evaluate("Math.max(...[...document.querySelectorAll('body, body *')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": min(int(height) + 20, 3000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(raw), full_page=True)
    out = out_dir / f"{name}.png"
    Image.open(raw).convert("RGB").quantize(256).save(out, optimize=True)
    target = SCREENSHOTS / f"{name}.png"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1" or not target.exists():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target.write_bytes(out.read_bytes())
    return out


def tables(page, selector: str = "body") -> dict[str, list[dict[str, str]]]:
    "Return the <table>s shown inside `selector` as records (header -> cell text), keyed by their first header."
    return page.eval_on_selector(selector, """el => Object.fromEntries([...el.querySelectorAll('table')].map(t => {
        const head = [...t.querySelectorAll('thead th')].map(c => c.innerText.trim());
        const rows = [...t.querySelectorAll('tbody tr')].map(r =>
            Object.fromEntries([...r.querySelectorAll('td')].map((c, i) => [head[i], c.innerText.trim()])));
        return [head[0], rows];
    }))""")


def number(text: str) -> float:
    "Return the number a cell shows (thousands separators dropped)."
    return float(text.replace(",", ""))
