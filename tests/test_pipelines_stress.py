"""pipelines/stress.ipynb run small under the pipelines command, and on positions read from a journal."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import papermill as pm
import pytest
from papermill.exceptions import PapermillExecutionError

from ultimate_nb.core.events import Instrument, Liquidity, Order, OrderAccepted, OrderFilled, OrderSubmitted
from ultimate_nb.core.store import Journal, make_engine
from ultimate_nb.execution.oms import OMS
from ultimate_nb.pipelines.runner import SCHEDULES, PipelineRunner, load_schedules

REPO = Path(__file__).resolve().parents[1]
STRESS = REPO / "pipelines" / "stress.ipynb"
CALL = "SPX call 2500 0.5y"


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    "A small stress-nightly run through the runner: long equity book plus a long SPX call."
    tmp = tmp_path_factory.mktemp("stress")
    runner = PipelineRunner(SCHEDULES, tmp / "runs", cwd=REPO)
    rec = runner.run("stress-nightly", {
        "options": [{"underlying": "SPX", "strike": 2500, "expiry_years": 0.5, "kind": "call", "qty": 10}],
        "n_generated": 200, "out_dir": str(tmp / "res")})
    runner.close()
    return rec, tmp / "res"


def test_stress_pipeline_writes_outputs_and_report(small_run):
    rec, out = small_run
    assert "stress-nightly" in load_schedules()
    assert rec.status == "success", rec.error[-2000:]
    assert Path(rec.html).is_file()
    for f in ("results.parquet", "results.csv", "positions_pnl.parquet", "generated.parquet", "summary.json",
              "scenarios.png", "ladder.png", "generated.png"):
        assert (out / f).is_file(), f
    res = pd.read_parquet(out / "results.parquet")
    assert list(res.columns[:6]) == ["name", "kind", "pnl", "pnl_pct", "worst_asset", "worst_asset_pnl"]
    assert res["name"].is_unique and res["pnl"].map(math.isfinite).all()
    assert {"historical", "worst_window", "factor", "ladder", "generated", "reverse"} == set(res["kind"])
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), res, check_dtype=False)


def test_stress_pipeline_numbers_are_sane(small_run):
    _, out = small_run
    res = pd.read_parquet(out / "results.parquet").set_index("name")
    pos = pd.read_parquet(out / "positions_pnl.parquet")
    s = json.loads((out / "summary.json").read_text())
    assert res.loc["GFC 2008-09", "pnl"] < 0                    # a long equity book loses in 2008
    assert res.loc["GFC 2008-09", "pnl_pct"] == pytest.approx(res.loc["GFC 2008-09", "pnl"] / s["value"])
    assert pos.loc["ladder spot -10% vol +0pt", CALL] < 0       # a long call loses when spot falls
    assert pos.loc["ladder spot +10% vol +0pt", CALL] > 0
    assert pos.loc["ladder spot +0% vol +0pt"].abs().max() < 1e-6
    assert res.loc["factor: equity -20%, vol +10", "pnl"] < 0 < res.loc["factor: equity +10%, vol -5", "pnl"]
    assert res.loc["reverse: equity fall to lose 20%", "pnl_pct"] == pytest.approx(-0.2, abs=1e-6)
    for g in ("bootstrap", "garch_t"):
        r = s["generated"][g]
        assert r["n"] == 200 and 0 <= r["var"] <= r["es"], r  # VaR of a long book's losses, ES beyond it
    gen = pd.read_parquet(out / "generated.parquet")
    assert len(gen) == 400 and -gen["pnl"].min() >= s["generated"]["bootstrap"]["var"] * 0.999
    assert s["worst_pnl"] == res["pnl"].min() and s["worst_scenario"] == res["pnl"].idxmin()


def _journal_with_fills(path: Path) -> None:
    j = Journal(make_engine(f"sqlite:///{path}"))

    class Clock:
        def timestamp_ns(self):
            return 1

    oms = OMS(j, Clock(), {s: Instrument(s) for s in ("AAPL", "SPY")})
    oms.open()
    for i, (sym, qty, px) in enumerate([("AAPL", 100, 150.0), ("SPY", 50, 280.0), ("AAPL", 40, 160.0)]):
        oms.new_order(Order(f"o{i}", sym, "BUY", qty, ts_init=1))
        oms.apply(OrderSubmitted(f"o{i}", 1, 1))
        oms.apply(OrderAccepted(f"o{i}", f"v{i}", 1, 1))
        oms.apply(OrderFilled(f"o{i}", f"f{i}", sym, "BUY", qty, px, 0.0, Liquidity.TAKER, 1, 1))
    j.engine.dispose()


def test_stress_pipeline_reads_positions_from_a_journal(tmp_path):
    db = tmp_path / "ultimate.db"
    _journal_with_fills(db)
    out = tmp_path / "res"
    pm.execute_notebook(str(STRESS), str(tmp_path / "x.ipynb"), kernel_name="python3", cwd=str(REPO),
                        progress_bar=False, parameters={"journal": str(db), "options": [],
                                                        "scenario_sets": ["historical"], "out_dir": str(out)})
    s = json.loads((out / "summary.json").read_text())
    assert s["book"] == pytest.approx({"AAPL": 100 * 150.0 + 40 * 160.0, "SPX": 50 * 280.0})  # SPY -> SPX
    res = pd.read_parquet(out / "results.parquet").set_index("name")
    assert (res["kind"] == "historical").all() and res.loc["GFC 2008-09", "pnl"] < 0


def test_stress_pipeline_rejects_unknown_symbol(tmp_path):
    with pytest.raises(PapermillExecutionError) as err:
        pm.execute_notebook(str(STRESS), str(tmp_path / "x.ipynb"), kernel_name="python3", cwd=str(REPO),
                            progress_bar=False, parameters={"positions": {"NOPE": 1000}, "options": [],
                                                            "out_dir": str(tmp_path / "o")})
    assert "NOPE" in str(err.value) and "no shipped history" in str(err.value)
