"""pipelines/altdata.ipynb under papermill on the fixture sites: crawl, de-duplicate, score, write features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import papermill as pm
import pytest

from ultimate_nb.data.altdata import satellite_view, social_view, to_ns
from ultimate_nb.data.feature_store import FeatureStore
from ultimate_nb.data.sentiment import sentiment_view

REPO = Path(__file__).resolve().parents[1]
NB = REPO / "pipelines" / "altdata.ipynb"


def run_pipeline(tmp: Path, **params) -> tuple[dict, FeatureStore]:
    pm.execute_notebook(str(NB), str(tmp / "executed.ipynb"), kernel_name="python3", cwd=str(REPO),
                        progress_bar=False, parameters={"store_path": str(tmp / "fs"), "out_dir": str(tmp / "out"),
                                                        **params})
    store = FeatureStore(tmp / "fs", now_ns=lambda: to_ns("2024-03-08"))   # views are code: declare them again
    store.register(sentiment_view(), social_view(), satellite_view())
    return json.loads((tmp / "out" / "summary.json").read_text()), store


@pytest.fixture(scope="module")
def lexicon_run(tmp_path_factory):
    "The chain without the MiniLM classifier (fast): VADER and the finance lexicon."
    tmp = tmp_path_factory.mktemp("altdata")
    return (*run_pipeline(tmp, methods=["vader", "lexicon"], score_method="lexicon"), tmp)


def test_altdata_pipeline_crawls_politely_and_deduplicates(lexicon_run):
    s, _, tmp = lexicon_run
    assert (s["records"], s["distinct"], s["duplicates"], s["kept"]) == (34, 19, 3, 16)
    assert s["disallowed"] == 2 and s["not_modified"] >= 7          # robots.txt refused /private/ each round
    news = pd.read_parquet(tmp / "out" / "news.parquet")
    assert set(news["first_seen_ns"]) == {to_ns("2024-03-06"), to_ns("2024-03-07")}
    assert (news["published_ns"].dropna() <= news["first_seen_ns"][news["published_ns"].notna()]).all()
    assert {"XOM", "AAPL", "JPM", "LLY"} <= {t for ts in news["tickers"] for t in ts}


def test_altdata_pipeline_writes_point_in_time_features(lexicon_run):
    s, store, _ = lexicon_run
    assert s["rows"] == {"news_sentiment": 90, "social_signals": 8, "satellite": 3}
    off = store.read_offline("news_sentiment")
    assert off["ts"].min() >= to_ns("2024-03-06")                   # nothing before the first crawl saw it
    labels = pd.DataFrame({"instrument": ["XOM", "XOM", "LLY", "LLY"],
                           "ts": [to_ns("2024-03-06") - 1, to_ns("2024-03-06T03:00Z"),
                                  to_ns("2024-03-06T12:00Z"), to_ns("2024-03-07T01:00Z")]})
    t = store.training_set(labels, ["news_sentiment"])
    assert np.isnan(t["sent_decay"].iloc[0]) and t["sent_decay"].iloc[1] < 0     # Exxon sued, known from 6 March
    assert np.isnan(t["sent_decay"].iloc[2]) and t["sent_decay"].iloc[3] < 0     # Lilly's failed trial came on 7 March
    sat = store.read_offline("satellite").sort_values("ts")
    assert sat["cars"].tolist() == [120.0, 180.0, 240.0]
    assert store.get_online("social_signals", "AAPL")["ts"] == to_ns("2024-03-08")


@pytest.mark.slow
def test_altdata_pipeline_full_chain_with_minilm(tmp_path):
    s, store = run_pipeline(tmp_path)
    table = pd.DataFrame(s["methods"]).set_index("method")
    assert table.loc["embedding", "macro_f1"] > 0.75
    assert s["score_method"] == "embedding" and s["rows"]["news_sentiment"] == 90
    assert store.get_online("news_sentiment", "XOM")["features"]["sent_decay"] < 0
