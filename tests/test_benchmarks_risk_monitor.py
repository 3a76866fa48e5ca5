"The risk-monitor benchmark runs small (`--quick`), writes its JSON and prints its table; the CUDA path with the gpu flag."
from __future__ import annotations

import json
import math

import pytest
from conftest import load_benchmark

from ultimate_nb.core.device import has_cuda


def check(res: dict) -> None:
    f, v = res["rerisk"], res["full"]
    assert f["fills"] >= 25 and f["underlyings"] == 10 and f["positions"] >= 90
    assert math.isfinite(f["p99_ms"]) and 0 < f["p50_ms"] <= f["p99_ms"]
    assert v["scenarios"] == 1_000 and v["es"] >= v["var"] > 0
    assert v["max_abs_diff"] <= 1e-6 * v["pnl_scale"]          # full revaluation = risk.var.revalue_options


def test_risk_monitor_benchmark_quick(tmp_path, capsys):
    bench = load_benchmark("risk_monitor")
    out = tmp_path / "risk.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    assert "re-risk after a fill" in capsys.readouterr().out
    res = json.loads(out.read_text())
    assert res["device"] == "cpu" and res["machine"]["cpu_count"] >= 1
    check(res)


@pytest.mark.gpu
def test_risk_monitor_benchmark_quick_on_cuda(tmp_path):
    if not has_cuda():
        pytest.skip("no CUDA device")
    bench = load_benchmark("risk_monitor")
    out = tmp_path / "risk.json"
    assert bench.main(["--quick", "--device", "cuda", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["device"] == "cuda"
    check(res)
