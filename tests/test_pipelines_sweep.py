"""pipelines/sweep.ipynb run small under the pipelines command: a 2-set grid on Dask, one results frame."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ultimate_nb.live.backtest import crossover, sweep
from ultimate_nb.pipelines.runner import SCHEDULES, PipelineRunner, load_schedules

REPO = Path(__file__).resolve().parents[1]


def test_sweep_pipeline_fans_the_grid_out_on_dask_and_matches_a_serial_sweep(tmp_path):
    assert "sweep-weekly" in load_schedules()
    runner = PipelineRunner(SCHEDULES, tmp_path / "runs", cwd=REPO)
    rec = runner.run("sweep-weekly", {"grid": {"fast": [5, 10], "slow": [40]}, "start": "2016-01-01",
                                      "n_workers": 1, "out_dir": str(tmp_path / "res")})
    runner.close()
    assert rec.status == "success", rec.error[-2000:]
    assert Path(rec.html).is_file()
    res = pd.read_parquet(tmp_path / "res" / "results.parquet")
    assert list(res[["fast", "slow"]].itertuples(index=False, name=None)) == [(5, 40), (10, 40)]
    summary = json.loads((tmp_path / "res" / "results.json").read_text())
    assert summary["n_sets"] == 2 and summary["best"]["sharpe"] == res["sharpe"].max()
    # the same grid run here, serially, gives the same statistics
    from functools import partial
    from ultimate_nb.data.historical import replay_from_spec
    serial = sweep(partial(crossover, order_qty=100), partial(replay_from_spec, "replay:sp500", start="2016-01-01"),
                   [{"fast": 5, "slow": 40}, {"fast": 10, "slow": 40}], parallel=False, progress=False)
    cols = [c for c in serial.columns if c not in ("bars_per_s", "elapsed_s")]  # timings differ
    pd.testing.assert_frame_equal(res[cols].reset_index(drop=True), serial[cols], rtol=1e-9)
