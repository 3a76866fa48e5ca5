"""ops/: Prometheus config and alert rules (promtool), Grafana dashboards, and a real Prometheus scraping a book.

The promtool and Prometheus tests need the Debian `prometheus` package: they install it with apt-get
when running as root and it is missing, and skip with a message otherwise. Prometheus listens on
127.0.0.1 only and every wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import eventually, free_port

from ultimate_nb.core.metrics import Metrics
from ultimate_nb.pipelines.runner import PipelineMetrics

REPO = Path(__file__).resolve().parents[1]
OPS = REPO / "ops"
DASHBOARDS = sorted((OPS / "grafana").glob("*.json"))
BUILTIN = {"up"}  # Prometheus's own per-target series


def exported_names(registry) -> set[str]:
    "Every sample name a registry can expose: counters with _total, histograms with _bucket/_sum/_count."
    names = set()
    for fam in registry.collect():
        if fam.type == "counter":
            names |= {fam.name + "_total", fam.name + "_created"}
        elif fam.type == "histogram":
            names |= {fam.name + s for s in ("_bucket", "_sum", "_count", "_created")}
        else:
            names.add(fam.name)
    return names


KNOWN = exported_names(Metrics().registry) | exported_names(PipelineMetrics().registry)


def alert_rules() -> list[dict]:
    return [r for g in yaml.safe_load((OPS / "alerts.yml").read_text())["groups"] for r in g["rules"]]


def dashboard_exprs(path: Path) -> list[str]:
    return [t["expr"] for p in json.loads(path.read_text())["panels"] for t in p["targets"]]


def metric_names(expr: str) -> set[str]:
    "The series names a PromQL expression selects (ultimate_* names and `up`), label values aside."
    expr = re.sub(r'"[^"]*"', '""', expr)
    return set(re.findall(r"\bultimate_[a-z0-9_]+\b", expr)) | (
        {"up"} if re.search(r"\bup\s*\{", expr) else set())


def test_alert_rules_name_only_exported_metrics():
    rules = alert_rules()
    assert {"UltimateBookHalted", "UltimateComponentDown", "UltimateFeedStale", "UltimateHttp5xxRate",
            "UltimateBusHandlerErrors", "UltimatePipelineFailed"} <= {r["alert"] for r in rules}
    for r in rules:
        names = metric_names(r["expr"])
        assert names, r["alert"]
        assert names <= KNOWN | BUILTIN, (r["alert"], names - KNOWN - BUILTIN)
        assert r["labels"]["severity"] in ("critical", "warning") and r["annotations"]["summary"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_grafana_dashboard_is_well_formed_and_names_only_exported_metrics(path):
    d = json.loads(path.read_text())
    assert d["uid"] and d["title"] and d["panels"]
    assert "datasource" in {v["name"] for v in d["templating"]["list"]}
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    for p in d["panels"]:
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
        assert p["targets"] and len({t["refId"] for t in p["targets"]}) == len(p["targets"])
        for t in p["targets"]:
            names = metric_names(t["expr"])
            assert names and names <= KNOWN, (p["title"], names - KNOWN)
            assert t["expr"].count("(") == t["expr"].count(")"), t["expr"]


# -- PROMTOOL AND PROMETHEUS --


def prometheus_bin(name: str) -> str:
    "Return the path of `name` (promtool, prometheus); install the Debian package if root, else skip."
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path:
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"{name} is missing and cannot be installed here (needs root and apt-get): "
                    "apt-get install prometheus")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"]
    if subprocess.run(cmd, env=env, capture_output=True, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=300)
        subprocess.run(cmd, env=env, capture_output=True, timeout=600)
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if not path:
        pytest.skip(f"apt-get could not install the prometheus package, so {name} is missing")
    return path


def test_promtool_accepts_config_rules_and_dashboard_queries(tmp_path):
    promtool = prometheus_bin("promtool")
    p = subprocess.run([promtool, "check", "config", str(OPS / "prometheus.yml")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    p = subprocess.run([promtool, "check", "rules", str(OPS / "alerts.yml")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "SUCCESS" in p.stdout, p.stdout + p.stderr
    # the dashboards' queries, as recording rules, must parse too ($instance as a regex)
    rules = [{"record": f"dashboard:q{i}", "expr": e.replace("$instance", ".*")}
             for i, e in enumerate(e for d in DASHBOARDS for e in dashboard_exprs(d))]
    f = tmp_path / "dash_rules.yml"
    f.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    p = subprocess.run([promtool, "check", "rules", str(f)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_prometheus_scrapes_a_running_book_and_loads_the_alerts(tmp_path, start_book):
    prometheus = prometheus_bin("prometheus")
    book = start_book(tmp_path / "book", speed=60)
    # every book metric the dashboard names is declared by the running book's /metrics
    text = httpx.get(book.metrics_url, timeout=5).text
    declared = set(re.findall(r"^# TYPE (\S+) (\S+)", text, re.M))
    served = set()
    for name, kind in declared:
        served |= ({name, name + "_total"} if kind == "counter" else
                   {name + s for s in ("_bucket", "_sum", "_count")} if kind == "histogram" else {name})
    book_names = {n for e in dashboard_exprs(OPS / "grafana" / "book.json") for n in metric_names(e)}
    assert book_names <= served, book_names - served

    cfg = yaml.safe_load((OPS / "prometheus.yml").read_text())
    cfg["global"].update(scrape_interval="1s", evaluation_interval="1s")
    cfg["rule_files"] = [str(OPS / "alerts.yml")]
    for job in cfg["scrape_configs"]:
        job.pop("scrape_interval", None)
        if job["job_name"] == "ultimate_book":
            job["static_configs"][0]["targets"] = [f"127.0.0.1:{book.metrics_port}"]
        else:
            job["static_configs"][0]["targets"] = [f"127.0.0.1:{free_port()}"]  # nothing there: up == 0
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    port = free_port()
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        def query(q):
            res = httpx.get(f"{api}/query", params={"query": q}, timeout=2).json()["data"]["result"]
            return res or None

        up = eventually(lambda: query('ultimate_up{job="ultimate_book"}'), timeout=40, interval=0.5,
                        message="ultimate_up through Prometheus")
        assert float(up[0]["value"][1]) == 1.0 and up[0]["metric"]["book"] == "default"
        events = eventually(lambda: query('sum(ultimate_events_total{job="ultimate_book"}) > 0'), timeout=20)
        assert float(events[0]["value"][1]) > 0
        groups = httpx.get(f"{api}/rules", timeout=2).json()["data"]["groups"]
        assert {g["name"] for g in groups} == {"ultimate_book", "ultimate_pipelines"}
        assert sum(len(g["rules"]) for g in groups) == len(alert_rules())
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
