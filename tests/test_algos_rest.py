"""Parent orders in the book: placed, followed, cancelled over REST; journaled; resumed after a restart
with what is left of them, never re-sending filled quantity."""
from __future__ import annotations

import json

from fastapi.testclient import TestClient

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import to_record
from ultimate_nb.live import api
from ultimate_nb.live.algos import AlgoDesk, AlgoProgress, AlgoSettings
from ultimate_nb.live.system import TradingSystem

TOKEN = "t" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START = 1_767_275_400_000_000_000          # 2026-01-01 13:50 UTC (New Year's Day: no NYSE session)
TICKS_PER_MIN = 240                        # the quote simulator ticks every 250 ms


def make_book(var_dir, start_ns=START, **algo) -> tuple[TradingSystem, AlgoDesk]:
    mkt = {"symbols": ["AAPL"], "initial_prices": [190.0], "vols": [0.28]}
    s = load_settings(overrides={"store": {"var_dir": str(var_dir)}, "strategy": {"enabled": False}, "market": mkt,
                                 "algos": AlgoSettings(**algo).model_dump()}, env_file=None)
    book = TradingSystem(s, clock=SimClock(start_ns=start_ns))
    return book, book.desks["algos"]                 # the book adds it from the settings (algos.enabled)


def children_filled(book: TradingSystem, pid: str) -> int:
    return sum(s.filled_qty for cid, s in book.oms.orders.items() if cid.startswith(f"{pid}-"))


def test_place_follow_and_cancel_a_parent_over_rest(tmp_path):
    book, desk = make_book(tmp_path)
    seen = []
    book.bus.subscribe(AlgoProgress, seen.append)
    client = TestClient(api.create_rest_app(book, TOKEN))
    assert client.post("/api/v1/algos", json={}).status_code == 401
    r = client.post("/api/v1/algos", headers=AUTH, json={"algo": "twap", "instrument_id": "AAPL", "side": "buy",
                                                         "qty": 2_000, "duration_s": 300, "slice_s": 10})
    assert r.status_code == 201, r.text
    pid = r.json()["parent_id"]
    assert r.json()["status"] == "working" and r.json()["filled"] == 0
    book.run_simulated(TICKS_PER_MIN)
    g = client.get(f"/api/v1/algos/{pid}", headers=AUTH).json()
    assert 0 < g["filled"] < 2_000 and g["filled"] + g["remaining"] == 2_000
    assert g["child_orders"] and sum(c["filled_qty"] for c in g["child_orders"]) == g["filled"]
    assert g["avg_price"] > 0 and all(c["client_order_id"].startswith(f"{pid}-") for c in g["child_orders"])
    assert [a["parent_id"] for a in client.get("/api/v1/algos", headers=AUTH).json()["algos"]] == [pid]
    assert seen and seen[-1].parent_id == pid and json.loads(json.dumps(to_record(seen[-1])))["type"] == "AlgoProgress"
    assert api.stream_types(book)["AlgoProgress"] is AlgoProgress
    d = client.delete(f"/api/v1/algos/{pid}", headers=AUTH)
    assert d.status_code == 200 and d.json()["status"] == "cancelled" and d.json()["working"] == 0
    assert not book.open_orders("AAPL", "algos")                 # its live children are cancelled too
    assert client.delete(f"/api/v1/algos/{pid}", headers=AUTH).status_code == 409
    assert client.get("/api/v1/algos/nope", headers=AUTH).status_code == 404
    assert client.delete("/api/v1/algos/nope", headers=AUTH).status_code == 404
    n = len(book.oms.orders)
    book.run_simulated(TICKS_PER_MIN // 2)
    assert len(book.oms.orders) == n                              # a cancelled parent sends nothing more
    book.close()


def test_bad_requests_are_422_naming_the_field_and_send_nothing(tmp_path):
    book, desk = make_book(tmp_path, calendar="XNYS")
    client = TestClient(api.create_rest_app(book, TOKEN))
    ok = {"algo": "twap", "instrument_id": "AAPL", "side": "buy", "qty": 100}
    cases = [({"algo": "vwop"}, "algo"), ({"qty": 0}, "qty"), ({"qty": -5}, "qty"),
             ({"algo": "pov", "participation": 0}, "participation"), ({"participation": 1.5}, "participation"),
             ({"end_ns": START - 1}, "end_ns"), ({"instrument_id": "TSLA"}, "instrument_id"),
             ({"duration_s": 3_600}, "no market hours"), ({"colour": "red"}, "colour")]
    for change, field in cases:
        r = client.post("/api/v1/algos", headers=AUTH, json={**ok, **change})
        assert r.status_code == 422, (change, r.text)
        assert field in r.text, (change, r.text)
    assert not book.oms.orders and not desk.parents
    assert not [e for e in book.journal.read(stream="algos")]
    book.close()


def test_restart_resumes_a_parent_with_what_is_left_never_resending_fills(tmp_path):
    book, desk = make_book(tmp_path)
    pid = desk.create("vwap", "AAPL", "buy", 3_000, duration_s=240, slice_s=10)["parent_id"]
    book.run_simulated(2 * TICKS_PER_MIN)
    before = desk.progress(pid)
    assert 0 < before["filled"] < 3_000
    n_children, now = before["children"], book.now_ns()
    book.close()

    book, desk = make_book(tmp_path, start_ns=now)                # the same journal, a fresh process
    st = desk.parents[pid]
    assert st.filled == before["filled"] == children_filled(book, pid)
    assert st.p.qty - st.filled == before["remaining"] and st.n_children == n_children
    assert abs(st.avg_price - before["avg_price"]) < 1e-9
    book.run_simulated(3 * TICKS_PER_MIN)
    after = desk.progress(pid)
    assert after["status"] == "filled" and after["filled"] == 3_000
    assert children_filled(book, pid) == 3_000                   # the total never exceeds the parent
    assert [c["client_order_id"] for c in after["child_orders"]][:n_children] == \
        [c["client_order_id"] for c in before["child_orders"]]
    book.close()

    book, desk = make_book(tmp_path, start_ns=book.now_ns())      # finished parents stay finished
    assert not desk.parents and desk.finished[pid]["status"] == "filled"
    book.run_simulated(TICKS_PER_MIN // 2)
    assert children_filled(book, pid) == 3_000
    book.close()


def test_a_cancel_journaled_before_a_crash_is_finished_at_restart(tmp_path):
    book, desk = make_book(tmp_path)
    pid = desk.create("pov", "AAPL", "sell", 5_000, duration_s=900, participation=0.2)["parent_id"]
    book.run_simulated(TICKS_PER_MIN // 2)
    book.journal.append("algos", "ParentCancelled", {"parent_id": pid, "reason": "test"}, book.now_ns())
    now = book.now_ns()
    book.close()                                                  # the process dies before cancelling children
    book, desk = make_book(tmp_path, start_ns=now)
    assert pid not in desk.parents and desk.finished[pid]["status"] == "cancelled"
    assert not book.open_orders("AAPL", "algos")
    book.close()


PARTS = ("delay_usd", "impact_usd", "timing_usd", "opportunity_usd", "fees_usd")


def test_tca_of_a_parent_over_rest_adds_up_and_matches_the_report(tmp_path):
    book, desk = make_book(tmp_path)
    client = TestClient(api.create_rest_app(book, TOKEN))
    assert client.get("/api/v1/algos/tca").status_code == 401
    assert client.get("/api/v1/algos/algo-1/tca").status_code == 401
    r = client.post("/api/v1/algos", headers=AUTH, json={"algo": "twap", "instrument_id": "AAPL", "side": "sell",
                                                         "qty": 2_000, "duration_s": 300, "slice_s": 10})
    pid = r.json()["parent_id"]
    book.run_simulated(TICKS_PER_MIN)
    t = client.get(f"/api/v1/algos/{pid}/tca", headers=AUTH)
    assert t.status_code == 200, t.text
    t = t.json()
    g = desk.progress(pid, children=False)
    assert (t["status"], t["algo"], t["side"], t["partial"]) == ("working", "twap", -1, False)
    assert 0 < t["filled"] == g["filled"] < 2_000 and abs(t["avg_price"] - g["avg_price"]) < 1e-9
    assert abs(sum(t[k] for k in PARTS) - t["is_usd"]) < 1e-9 * max(1.0, abs(t["is_usd"]))
    assert t["opportunity_usd"] != 0 and t["fees_usd"] > 0 and sum(t["venues"].values()) == t["filled"]
    assert t["arrival_price"] > 0 and t["market_volume"] > 0 and 0 < t["participation"] < 1
    assert t["tape"]["quotes"] >= TICKS_PER_MIN and t["tape"]["quotes_dropped"] == 0
    rep = client.get("/api/v1/algos/tca", headers=AUTH).json()
    row = {r["parent_id"]: r for r in rep["tca"]}[pid]
    assert row["is_bps"] == t["is_bps"] and row["venue_paper"] == 1.0 and row["status"] == "working"
    assert client.get("/api/v1/algos/nope/tca", headers=AUTH).status_code == 404
    book.close()


def test_tca_after_a_restart_takes_the_fills_from_the_journal_and_says_it_is_partial(tmp_path):
    book, desk = make_book(tmp_path)
    pid = desk.create("vwap", "AAPL", "buy", 3_000, duration_s=240, slice_s=10)["parent_id"]
    book.run_simulated(2 * TICKS_PER_MIN)
    before, now = desk.tca(pid), book.now_ns()
    assert 0 < before["filled"] < 3_000 and not before["partial"]
    book.close()

    book, desk = make_book(tmp_path, start_ns=now)
    client = TestClient(api.create_rest_app(book, TOKEN))
    t = client.get(f"/api/v1/algos/{pid}/tca", headers=AUTH).json()
    assert t["partial"] and "restart" in t["partial_reason"] and t["tape"]["quotes"] <= 1
    for k in ("filled", "n_fills", "avg_price", "fees_usd", "decision_price", "arrival_price", "venues"):
        assert t[k] == before[k] or abs(t[k] - before[k]) < 1e-9, (k, t[k], before[k])
    book.run_simulated(3 * TICKS_PER_MIN)
    done = desk.tca(pid)
    assert done["status"] == "filled" and done["filled"] == 3_000 == children_filled(book, pid)
    oms = [s for cid, s in book.oms.orders.items() if cid.startswith(f"{pid}-")]
    paid = sum(s.filled_qty * s.avg_fill_price for s in oms) - 3_000 * done["decision_price"] + sum(s.fees for s in oms)
    assert abs(done["is_usd"] - paid) < 1e-6 and done["opportunity_usd"] == 0     # the total is exact
    assert abs(sum(done[k] for k in PARTS) - done["is_usd"]) < 1e-6
    book.close()

    book, desk = make_book(tmp_path, start_ns=book.now_ns())     # finished before this process: still costed
    again = TestClient(api.create_rest_app(book, TOKEN)).get(f"/api/v1/algos/{pid}/tca", headers=AUTH).json()
    assert again["partial"] and "finished before" in again["partial_reason"] and again["status"] == "filled"
    assert abs(again["is_usd"] - done["is_usd"]) < 1e-6 and again["n_fills"] == done["n_fills"]
    book.close()
