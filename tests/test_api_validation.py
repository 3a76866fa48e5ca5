"""Numbers JSON should not carry, sent to a running book over HTTP: each gets a 422 naming the field.

Python's `json` reads `NaN`, `Infinity` and `1e400`; FastAPI's own 422 handler could not write the
rejected input back and answered 500, and the metrics middleware never counted those 500s.
"""

from __future__ import annotations

import httpx
import pytest

from test_live_e2e import NO_STRATEGY, TOKEN, _metric

ORDER = '{{"symbol": "AAPL", "side": "buy", "qty": {qty}, "type": "limit", "limit_price": {px}}}'
STOP = '{{"symbol": "AAPL", "side": "sell", "qty": 1, "type": "stop", "stop_price": {px}}}'
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e400")


@pytest.fixture
def book(start_book, tmp_path):
    return start_book(tmp_path, token=TOKEN, speed=60, extra_args=NO_STRATEGY)


def _send(book, method: str, path: str, text: str) -> httpx.Response:
    return httpx.request(method, book.rest_url + path, content=text.encode(), timeout=5,
                         headers={**book.headers, "content-type": "application/json"})


def _http_codes(book) -> dict[str, float]:
    "Return ultimate_http_requests_total summed by status code."
    out: dict[str, float] = {}
    for line in httpx.get(book.metrics_url, timeout=5).text.splitlines():
        if line.startswith("ultimate_http_requests_total{"):
            code = line.split('code="', 1)[1].split('"', 1)[0]
            out[code] = out.get(code, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def test_non_finite_order_numbers_get_422_naming_the_field_and_are_counted(book):
    cases = [(ORDER.format(qty=1, px=v), "limit_price") for v in NON_FINITE]
    cases += [(ORDER.format(qty=v, px=190), "qty") for v in NON_FINITE]
    cases += [(STOP.format(px=v), "stop_price") for v in NON_FINITE]
    for text, field in cases:
        r = _send(book, "POST", "/api/v1/orders", text)
        assert r.status_code == 422, (text, r.status_code, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", field], (text, r.json())
        assert r.json()["detail"][0]["input"] in ("nan", "inf", "-inf"), r.json()
    assert _metric(book, "ultimate_http_requests_total", path="/api/v1/orders", method="POST", code="422") == len(cases)
    assert not any(code.startswith("5") for code in _http_codes(book))
    assert book.get("/api/v1/orders").json()["orders"] == []          # nothing was journaled
    assert book.post("/api/v1/orders", {"symbol": "AAPL", "side": "buy", "qty": 1}).status_code == 201


def test_non_finite_setting_gets_422_naming_the_field_and_the_limit_is_unchanged(book):
    for v in NON_FINITE:
        r = _send(book, "PATCH", "/api/v1/config", f'{{"changes": {{"risk.max_order_notional": {v}}}}}')
        assert r.status_code == 422 and "risk.max_order_notional" in r.json()["detail"], (v, r.text)
    assert book.get("/api/v1/config").json()["runtime"]["risk.max_order_notional"] == 2_000_000.0
    assert _metric(book, "ultimate_http_requests_total", path="/api/v1/config", method="PATCH", code="422") == 4
    ok = httpx.patch(f"{book.rest_url}/api/v1/config", json={"changes": {"risk.max_order_notional": 1e6}},
                     headers=book.headers, timeout=5)
    assert ok.status_code == 200 and ok.json()["runtime"]["risk.max_order_notional"] == 1e6


def test_timestamp_beyond_int64_is_refused_naming_the_field(book):
    quote = {"type": "Quote", "instrument_id": "AAPL", "bid": 189.9, "ask": 190.0, "bid_size": 1, "ask_size": 1,
             "ts_event": 2**63, "ts_init": 1}
    late = book.post("/api/v1/marketdata", quote)
    assert late.status_code == 422 and "ts_event" in late.json()["detail"]
    assert book.post("/api/v1/marketdata", {**quote, "ts_event": 1_767_275_400_000_000_000}).status_code == 202
    assert _metric(book, "ultimate_bad_events_total", source="rest", reason="invalid") == 1.0
    assert book.health().json()["status"] == "ok"
