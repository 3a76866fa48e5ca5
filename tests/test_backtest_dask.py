"""`sweep` and `walk_forward` on a real Dask cluster: a `dask scheduler` and two `dask worker` processes
started here on free 127.0.0.1 ports give the same table as a serial run."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Iterator

import pandas as pd
import pytest
from distributed import Client

from conftest import REPO, eventually, free_port
from ultimate_nb.data.historical import Replay, frames
from ultimate_nb.live.backtest import crossover, sweep, walk_forward

GRID = {"fast": [5, 10], "slow": [20, 40]}


@pytest.fixture(scope="module")
def spx() -> pd.DataFrame:
    "S&P 500 daily bars 2012-2018 (arch.data), enough for a few hundred trades per run."
    return frames("sp500")["SPX"].loc["2012":]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[str]:
    "Start a scheduler and two single-threaded workers as subprocesses; yield the address; stop them."
    tmp = tmp_path_factory.mktemp("dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"],
                              cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for i in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                 "--no-nanny", "--no-dashboard", "--name", f"w{i}", "--host", "127.0.0.1",
                 "--local-directory", str(tmp / f"w{i}"), "--death-timeout", "60"],
                cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield address
    finally:
        # workers first, the scheduler once they are gone: a worker whose scheduler vanished under it
        # waits out its comm timeouts (10 s each) before it exits
        for group in (procs[1:], procs[:1]):
            for p in group:
                p.terminate()
            for p in group:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)


@pytest.fixture(scope="module")
def client(cluster) -> Iterator[Client]:
    with Client(cluster, set_as_default=False, timeout=30) as c:
        eventually(lambda: len(c.scheduler_info()["workers"]) == 2, timeout=60, message="two workers joined")
        yield c


def test_sweep_on_two_worker_processes_equals_a_serial_run(spx, client):
    feed = functools.partial(Replay, {"SPX": spx})
    par = sweep(crossover, feed, GRID, client=client, progress=False)
    ser = sweep(crossover, feed, GRID, parallel=False, progress=False)
    assert len(par) == 4 and list(par[["fast", "slow"]].itertuples(index=False, name=None)) == [
        (5, 20), (5, 40), (10, 20), (10, 40)]
    assert par["error"].isna().all() and (par["n_trades"] > 10).all()
    stats = ["total_return", "sharpe", "sortino", "max_drawdown", "turnover", "fees", "n_trades", "hit_rate"]
    pd.testing.assert_frame_equal(par[["fast", "slow", *stats]], ser[["fast", "slow", *stats]],
                                  check_exact=False, rtol=1e-12)
    # both workers took part: the tasks ran in other processes, not in this one
    assert len(client.scheduler_info()["workers"]) == 2


def test_sweep_by_scheduler_address_reports_an_invalid_parameter_set_as_an_error_row(spx, cluster):
    feed = functools.partial(Replay, {"SPX": spx.loc["2017":]})
    out = sweep(crossover, feed, [{"fast": 5, "slow": 20}, {"fast": 30, "slow": 20}], client=cluster,
                progress=False)
    assert pd.isna(out.loc[0, "error"]) and out.loc[0, "n_fills"] > 0
    assert "fast must be < slow" in out.loc[1, "error"] and pd.isna(out.loc[1, "sharpe"])


def test_walk_forward_on_the_cluster_equals_a_serial_run(spx, client):
    feed = functools.partial(Replay, {"SPX": spx})           # called with start=, end= per window
    kw = dict(start="2012-01-01", end="2019-01-01", train=pd.DateOffset(years=2), test=pd.DateOffset(years=1),
              metric="sharpe")
    par = walk_forward(crossover, feed, GRID, client=client, progress=False, **kw)
    ser = walk_forward(crossover, feed, GRID, parallel=False, progress=False, **kw)
    assert list(par["test_start"].dt.year) == [2014, 2015, 2016, 2017, 2018]   # after two-year train windows
    assert par["error"].isna().all() and (par["n_trades"] > 3).all()
    assert (par["test_start"] > par["train_end"]).all()
    assert (par["test_start"].iloc[1:].to_numpy() == par["test_end"].iloc[:-1].to_numpy()
            + pd.Timedelta(1, "ns")).all()        # test windows tile the period
    cols = ["fast", "slow", "train_sharpe", "total_return", "sharpe", "n_trades"]
    pd.testing.assert_frame_equal(par[cols], ser[cols], check_exact=False, rtol=1e-12)
