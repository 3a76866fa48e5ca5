"""Secrets and exposure: short tokens refused at start, API docs public on loopback only, the schema's security."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import httpx
from fastapi.testclient import TestClient

from conftest import REPO, free_port
from test_live_e2e import NO_STRATEGY, TOKEN
from ultimate_nb.live.__main__ import LiveRunner, settings_from_args

SHORT = "short-secret-1234"


def _run_live(tmp_path, args=(), env=None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ULTIMATE_")}
    cmd = [sys.executable, "-m", "ultimate_nb.live", "--var-dir", str(tmp_path / "var"), "--duration", "5",
           "--rest-port", str(free_port()), "--ws-port", str(free_port()), "--metrics-port", str(free_port()), *args]
    return subprocess.run(cmd, cwd=tmp_path, env={**clean, "PYTHONPATH": str(REPO), **(env or {})},
                          capture_output=True, text=True, timeout=60)


def test_short_token_from_flag_is_refused_at_start_without_printing_it(tmp_path):
    done = _run_live(tmp_path, ("--set", f"server.api_token={SHORT}"))
    assert done.returncode == 2, done.stderr[-2000:]
    assert "ULTIMATE_SERVER__API_TOKEN" in done.stderr and "32" in done.stderr
    assert SHORT not in done.stderr + done.stdout
    assert not (tmp_path / "var" / "ultimate.db").exists()           # refused before the journal opened


def test_short_token_from_environment_is_refused_at_start(tmp_path):
    done = _run_live(tmp_path, env={"ULTIMATE_SERVER__API_TOKEN": "x" * 31})
    assert done.returncode == 2 and "ULTIMATE_SERVER__API_TOKEN" in done.stderr, done.stderr[-2000:]
    assert "x" * 31 not in done.stderr + done.stdout


def test_docs_are_public_on_loopback_and_the_schema_declares_bearer_and_error_bodies(start_book, tmp_path):
    book = start_book(tmp_path, token=TOKEN, speed=60, extra_args=NO_STRATEGY)
    assert httpx.get(f"{book.rest_url}/docs", timeout=5).status_code == 200
    schema = httpx.get(f"{book.rest_url}/openapi.json", timeout=5).json()
    assert httpx.get(f"{book.rest_url}/api/v1/positions", timeout=5).status_code == 401

    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    paths = schema["paths"]
    for path, method, codes in [("/api/v1/orders", "post", {"401", "409", "422", "503"}),
                                ("/api/v1/orders/{client_order_id}", "delete", {"401", "404", "409", "422"}),
                                ("/api/v1/orders/{client_order_id}", "get", {"401", "404"}),
                                ("/api/v1/config", "patch", {"401", "422"}),
                                ("/api/v1/positions", "get", {"401"})]:
        op = paths[path][method]
        assert op["security"] == [{"HTTPBearer": []}], (path, method)
        assert codes <= set(op["responses"]), (path, method, sorted(op["responses"]))
    post = paths["/api/v1/orders"]["post"]["responses"]
    assert {"200", "201"} <= set(post)          # 201 placed; 200 an idempotent repeat of a known id
    refs = {c: r["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            for c, r in post.items() if c not in ("200", "201")}
    assert refs == {"401": "ErrorBody", "409": "ErrorBody", "422": "UnprocessableBody", "503": "ErrorBody"}
    bodies = schema["components"]["schemas"]
    assert bodies["ErrorBody"]["properties"]["detail"]["type"] == "string"
    assert bodies["ErrorBody"]["required"] == ["detail"]
    shapes = bodies["UnprocessableBody"]["properties"]["detail"]["anyOf"]
    assert {s.get("type") or s["$ref"].rsplit("/", 1)[-1] for s in shapes} == {"array", "DeniedOrder", "string"}
    assert {"loc", "msg", "type", "input"} <= set(bodies["ValidationIssue"]["properties"])
    assert "security" not in paths["/health"]["get"]

    # The declared shapes are the real ones
    missing = httpx.delete(f"{book.rest_url}/api/v1/orders/nope", headers=book.headers, timeout=5)
    assert missing.status_code == 404 and isinstance(missing.json()["detail"], str)
    invalid = book.post("/api/v1/orders", {"symbol": "AAPL", "side": "buy", "qty": 0})
    assert invalid.status_code == 422 and {"loc", "msg", "type"} <= set(invalid.json()["detail"][0])


def test_binding_beyond_loopback_warns_and_puts_docs_behind_the_token(tmp_path, caplog):
    settings = settings_from_args(["--var-dir", str(tmp_path), "--set", "server.host=0.0.0.0",
                                   "--set", f"server.api_token={TOKEN}", "--set", "strategy.enabled=false"],
                                  env_file=None)
    with caplog.at_level(logging.WARNING, logger="ultimate_nb.live"):
        runner = LiveRunner(settings)                                     # builds the apps, binds nothing
    try:
        assert [r.levelno for r in caplog.records if r.name == "ultimate_nb.live"] == [logging.WARNING]
        rest = TestClient(runner.servers["rest"].config.app)
        assert [rest.get(p).status_code for p in ("/docs", "/openapi.json")] == [401, 401]
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert [rest.get(p, headers=auth).status_code for p in ("/docs", "/openapi.json")] == [200, 200]
        assert rest.get("/health").status_code == 200
    finally:
        runner.system.close()
