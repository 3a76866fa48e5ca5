"""Every benchmark in benchmarks/ runs small (`--quick`), writes its JSON and prints its table.

One parametrised smoke test: the shared part (exit status, JSON, machine block, table) is checked
the same way for all; each benchmark adds what its numbers must satisfy. benchmarks/analytics.py
only runs two of them in one go and has no case of its own.
"""

from __future__ import annotations

import ast
import json
import math
import re
import time
from pathlib import Path

import pytest
from conftest import REPO, load_benchmark


def finite_positive(*values: float) -> bool:
    return all(math.isfinite(v) and v > 0 for v in values)


def check_live_loop(res: dict) -> None:
    for section, key in (("bus", "ratio"), ("journal", "ratio"), ("orders", "ratio_p50"),
                         ("run_simulated", "events_per_s")):
        assert finite_positive(res[section][key]), (section, key)
    o = res["orders"]
    assert o["oms_stats"]["orders"] == o["orders"]  # every benchmark order reached the OMS
    assert o["oms_stats"].get("filled", 0) == o["orders"]  # and filled: nothing denied by risk
    assert o["journal_entries_per_order"] >= 4  # order, submitted, accepted, filled
    assert res["restart"] and all(r["consistent"] for r in res["restart"])  # snapshot + tail == full replay


def check_analytics_features(res: dict) -> None:
    assert res["batch"]["features"] >= 100
    assert res["batch"]["max_parity_error"] < 1e-9  # batch and streaming agree
    for key in ("ours_p50_us", "ours_p99_us", "reference_p99_us"):
        assert finite_positive(res["stream"][key]), key
    assert res["rolling"]["max_rel_diff_vs_pandas"] < 1e-6


def check_analytics_portfolio(res: dict) -> None:
    assert len(res["results"]) == 7
    for r in res["results"]:
        assert finite_positive(r["ours_ms"]), r["problem"]
        assert r["max_abs_dw"] < 1e-4, r  # every optimiser lands on its reference's weights
        gap = r["objective_gap"]
        assert math.isnan(gap) or gap < 1e-6, r  # and is never materially worse


def check_options_greeks(res: dict) -> None:
    g, iv = res["greeks"], res["implied_vol"]
    assert g["greeks"] == 16 and finite_positive(g["speedup"])
    assert g["max_diff_of_scale"] < 1e-12  # same formulas as the numpy reference
    assert finite_positive(iv["throughput_ratio"])
    assert iv["ours_max_abs_err_material"] < 1e-10 and iv["ours_nan_material"] == 0
    assert iv["ours_as_good_share_sample"] == 1.0


def check_options_american(res: dict) -> None:
    rows = res["tree"]["rows"]
    assert finite_positive(res["tree"]["speedup"])
    assert rows["crr"]["max_abs_err"] < 0.05 and rows["quantlib crr"]["max_abs_err"] < 0.05
    assert rows["crr smooth"]["max_abs_err"] < rows["crr"]["max_abs_err"]
    lsm = res["lsm"]["rows"]
    assert abs(lsm["ours"]["price"] - lsm["quantlib"]["price"]) < 0.1  # 4,000 paths each
    assert finite_positive(res["lsm"]["ratio_vs_quantlib"])


def check_options_surface(res: dict) -> None:
    rows = res["bench"]["rows"]
    assert {"svi fit (cold)", "svi update (warm)", "sabr fit (cold)", "ssvi fit",
            "surface from_quotes (svi)"} <= set(rows)
    assert all(finite_positive(r["ms"]) for r in rows.values())
    assert res["bench"]["svi_update"]["max_rmse"] < 5e-4  # warm updates still fit the smile


def check_risk_var(res: dict) -> None:
    for section, key in (("mc", "scenarios_per_s"), ("mc", "peak_traced_mb"),
                         ("options", "revaluations_per_s"), ("dask", "scenarios_per_s")):
        assert finite_positive(res[section][key]), (section, key)
    assert res["dask"]["same_answer"] is True  # same seed, same chunks: the same VaR and ES
    assert abs(res["mc"]["var_rel_error"]) < 0.05  # 20,000 scenarios vs the closed form
    assert abs(res["options"]["delta_gamma_var_rel_error"]) < 0.05


def check_data_chain(res: dict) -> None:
    assert res["contracts"] == 2000 and res["expiries"] == 10
    assert finite_positive(res["ours_ms_per_update"], res["ours_cpu_ms"])
    assert res["speedup"] > 1  # a loop of vollib calls is slower
    acc = res["accuracy"]
    assert max(acc["max_abs_diff"][k] for k in ("iv_bid", "iv_ask", "iv_mid")) < 1e-9
    assert acc["max_abs_diff"]["delta"] < 1e-9 and acc["mask_mismatch"] == 0
    assert acc["iv_mid_finite_mismatch"] == 0


def check_data_book(res: dict) -> None:
    assert res["speed"]["book_events_per_s"] > 1_000 and res["speed"]["bus_events_per_s"] > 100
    assert set(res["models"]) == {"default", "long memory"}
    for name, r in res["models"].items():
        s = r["session"]
        assert 1.0 <= s["spread_mean_ticks"] < 10.0, name  # spreads are whole ticks >= 1
        assert abs(sum(s["spread_share"].values()) - 1.0) < 1e-9
        rv = s["signature_rv_per_s"]
        assert rv[0] > rv[-1] > 0, name  # the mid mean-reverts at short lags
        v = s["volume_by_tenth"]
        assert min(v[0], v[-1]) > max(v[4], v[5]), name  # U-shaped volume
        assert len(r["impact"]["impact_usd"]) == 2 and math.isfinite(r["impact"]["impact_usd"][0])


def check_ml_models(res: dict) -> None:
    rows = res["multitask"]
    assert {r["batch"] for r in rows} == {1, 10_000}
    assert all(finite_positive(r["seconds"]) for r in rows)
    assert any(r["impl"].startswith("options.greeks") for r in rows)
    assert any(r["impl"] == "TorchScript" for r in rows)
    gen = {r["name"]: r for r in res["generative"]}
    assert {"gan", "gaussian", "block_bootstrap", "garch_t"} <= set(gen)
    assert all(finite_positive(r["scenarios_per_s"]) for r in gen.values())
    assert gen["gan"]["train_s"] > 0  # the GAN timed is one trained in the run, not an untrained net
    assert res["machine"]["torch_threads"] >= 1


def check_inference(res: dict) -> None:
    assert res["onnx_check"]["worst_over_tol"] <= 1.0
    assert {"ONNX Runtime session.run (direct)", "server.predict, onnxruntime",
            "server.predict_async, onnxruntime, 1 client"} <= {r["impl"] for r in res["latency"]}
    assert all(math.isfinite(r["p99_us"]) and r["p99_us"] >= r["p50_us"] > 0 for r in res["latency"])
    on, off = res["throughput"]
    assert on["mean_batch"] > 1.0 and off["mean_batch"] == 1.0  # batching coalesced, the other did not
    assert finite_positive(res["goals"]["batching_speedup"], res["goals"]["p99_sync_onnxruntime_us"])


def check_analytics_microstructure(res: dict) -> None:
    assert res["features"] == 13 and res["trades"] > 50
    assert res["max_parity_error"] <= 1e-12                  # streaming equals batch
    for key in ("p50_us", "p99_us", "mean_us"):
        assert math.isfinite(res["stream"][key]) and res["stream"][key] > 0, key
    assert res["batch"]["per_event_us"] > 0 and res["pandas"]["per_event_us"] > 0
    agree = res["pandas"]["agreement"]
    assert agree["ofi"] < 1e-12 and agree["mlofi"] < 1e-12 and agree["roll"] < 1e-9
    assert agree["lr_sign"] > 0.95


# name -> (checks on the JSON, words the printed table must hold, seconds the quick run may take)
CASES = {
    "live_loop": (check_live_loop, ("bus publish", "submit market order p99", "vs backtrader", "tick -> order"), 20),
    "analytics_features": (check_analytics_features, ("stream update_array", "batch ", "p99"), None),
    "analytics_portfolio": (check_analytics_portfolio,
                            ("max-Sharpe, long-only", "ERC (Newton)", "HRP"), None),
    "options_greeks": (check_options_greeks, ("bs_greeks (numba)", "vollib", "target"), None),
    "options_american": (check_options_american, ("quantlib crr", "LSM", "target"), None),
    "options_surface": (check_options_surface, ("svi update", "target"), None),
    "risk_var": (check_risk_var, ("MC VaR/ES", "full reval", "MC through Dask"), None),
    "data_chain": (check_data_chain, ("OptionChain.update", "vollib", "goal"), None),
    "data_book": (check_data_book, ("book events/s", "delta ="), None),
    "ml_models": (check_ml_models, ("multitask", "bs_greeks", "TorchScript"), None),
    "analytics_microstructure": (check_analytics_microstructure,
                                 ("stream MicroCalculator", "p99", "pandas"), None),
    "inference": (check_inference, ("4 async clients", "server.predict, onnxruntime", "goal p99"),
                  None),
}
# optional packages (extras) a benchmark imports: its case is skipped where one is missing
NEEDS = {"ml_models": ("torch",), "inference": ("torch", "onnxruntime")}


@pytest.mark.parametrize("name", list(CASES))
def test_benchmark_quick_writes_json_and_table(name, tmp_path, capsys):
    check, words, max_s = CASES[name]
    for package in NEEDS.get(name, ()):
        pytest.importorskip(package)
    bench = load_benchmark(name)
    out = tmp_path / f"{name}.json"
    t0 = time.perf_counter()
    assert bench.main(["--quick", "--out", str(out)]) == 0
    if max_s is not None:
        assert time.perf_counter() - t0 < max_s
    res = json.loads(out.read_text())
    assert res["quick"] is True and res["machine"]["cpu_count"] >= 1
    assert math.isfinite(res["wall_s"]) and res["wall_s"] > 0
    check(res)
    table = capsys.readouterr().out
    assert all(w in table for w in words), words
    assert f"wrote {out}" in table


def _own_smoke_tests() -> set[str]:
    "Benchmarks smoke-tested in their own tests/test_benchmarks_*.py files."
    return {m for f in (REPO / "tests").glob("test_benchmarks_*.py")
            for m in re.findall(r'load_benchmark\("(\w+)"\)', f.read_text())}


def test_every_benchmark_is_smoke_tested():
    scripts = {p.stem for p in (REPO / "benchmarks").glob("*.py") if not p.stem.startswith("_")}
    assert scripts - set(CASES) - _own_smoke_tests() == {"analytics"}  # a wrapper of two cases


def _environ_writes(path: Path) -> list[str]:
    "Lines of `path` that write os.environ or set numba/torch thread counts."
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        src = ast.unparse(node) if isinstance(node, (ast.Assign, ast.Call)) else ""
        if ("os.environ[" in src and isinstance(node, ast.Assign)) or any(
                s in src for s in ("environ.setdefault", "environ.update", "putenv",
                                   "set_num_threads", "threading_layer")):
            found.append(src)
    return found


@pytest.mark.parametrize("name", sorted(p.stem for p in (REPO / "benchmarks").glob("*.py")))
def test_benchmarks_measure_the_library_as_imported(name):
    # no thread or environment settings of their own: ultimate_nb.core.device decides
    assert _environ_writes(REPO / "benchmarks" / f"{name}.py") == []
