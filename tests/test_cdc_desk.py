"The CDC desk in a book: the journal's changes fan out on the bus (the WebSocket stream's 'ChangeEvent') and feed the audit trail."
from __future__ import annotations

import json

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.core.events import Order
from ultimate_nb.data import cdc
from ultimate_nb.live import api
from ultimate_nb.live.system import TradingSystem


def test_book_changes_reach_the_bus_and_the_audit_log(tmp_path):
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path)}, "strategy": {"fast": 2, "slow": 4}},
                      env_file=None)
    book = TradingSystem(s, clock=SimClock(start_ns=1_767_275_400_000_000_000))
    rows = []
    section = cdc.CdcSettings(enabled=True, archive=True, fanout_every_ms=0)
    desk = book.add_desk("cdc", cdc.from_settings(book, section,
                                                  sinks={"features": cdc.FeatureStoreSink(lambda v, r: rows.extend(r))}))
    seen = []
    book.bus.subscribe(cdc.ChangeEvent, seen.append)
    book.run_simulated(4 * 60 * 5)
    book.submit_order(Order("cdc-manual", "SPY", "sell", 7, ts_init=book.now_ns()))
    book.update_settings({"risk.max_order_qty": 900}, actor="api")
    desk.drain()
    assert api.stream_types(book)["ChangeEvent"] is cdc.ChangeEvent
    seqs = [e.after["seq"] for e in seen]
    assert seqs == sorted(set(seqs)) and seqs[-1] == book.journal.last_seq()      # each change once, in order
    assert json.loads(json.dumps(seen[-1].to_record()))["after"]["type"] == "SettingsChanged"
    kinds = [r["kind"] for r in desk.audit.rows()]
    assert {"order", "fill", "limit"} <= set(kinds) and kinds[-1] == "limit"
    assert desk.audit.rows()[-1]["who"] == "api"
    # at-least-once delivery: this sink is not idempotent, so a redelivered change may repeat a row
    assert len({r["fill_id"] for r in rows}) == book.oms.stats["fills"] > 0        # every fill reached the sink
    assert cdc.read_archive(tmp_path / "cdc" / "archive", "journal")["seq"].tolist() == \
        [e.seq for e in book.journal.read()]
    assert all(not c["errors"] for c in desk.status().values())
    book.close()
    assert cdc.verify_audit(tmp_path / "cdc" / "audit.db").ok


def test_settings_turn_on_cdc_into_the_feature_store(tmp_path):
    "With `cdc` and `feature_store` on, the book's fills become online features (view 'fills') through CDC."
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path)}, "strategy": {"enabled": False},
                                 "feature_store": {"enabled": True}, "cdc": {"enabled": True, "fanout_every_ms": 0}},
                      env_file=None)
    book = TradingSystem(s, clock=SimClock(start_ns=1_767_275_400_000_000_000))
    desk, store = book.desks["cdc"], book.desks["features"].store
    book.run_simulated(8)
    st = book.submit_order(Order("cdc-fs-1", "SPY", "buy", 30, ts_init=book.now_ns()))
    assert st.status.value == "filled"
    desk.drain()
    row = store.get_online("fills", "SPY")
    fill = [e for e in book.journal.events(stream="orders") if type(e).__name__ == "OrderFilled"][-1]
    assert row["features"]["signed_qty"] == 30 and abs(row["features"]["price"] - fill.price) < 1e-9, row
    book.close()
