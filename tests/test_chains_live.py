"""A running book lists option chains for `market.chains` and serves them over REST."""

from __future__ import annotations

from conftest import eventually


def test_book_lists_spy_options_and_serves_their_ivs_and_greeks(start_book, tmp_path):
    book = start_book(tmp_path / "book", speed=60, extra_args=("--set", "market.chains=[SPY]"))

    def valued():
        r = book.get("/api/v1/chains/SPY", params={"limit": 50})
        return r.json() if r.status_code == 200 else None

    snap = eventually(valued, timeout=30, message="SPY chain valued")
    assert snap["underlying"] == "SPY" and snap["contracts"] > 100 and snap["passed"] > 0
    assert 0 < len(snap["rows"]) <= 50
    row = snap["rows"][0]
    assert row["bid"] <= row["ask"] and row["iv_mid"] > 0 and -1 <= row["delta"] <= 1
    assert abs(snap["spot"] - 520) < 30                          # around SPY's simulated price
    listing = book.get("/api/v1/chains").json()["underlyings"]
    assert set(listing) == {"SPY"}
    assert book.get("/api/v1/chains/AAPL").status_code == 404   # not in market.chains


def test_chains_must_name_symbols_of_the_market(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "ultimate_nb.live", "--set", "market.chains=[QQQ]",
                        "--var-dir", str(tmp_path / "var")], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert r.returncode == 2 and "chains must name symbols of the market" in r.stderr and "QQQ" in r.stderr


def test_book_streams_microstructure_features_of_its_symbols(start_book, tmp_path):
    book = start_book(tmp_path / "book", speed=60, extra_args=("--set", "market.microstructure=true"))

    def known():
        r = book.get("/api/v1/microstructure/AAPL")
        f = r.json()["features"] if r.status_code == 200 else {}
        return f if f.get("mid") and f.get("lr_sign") is not None else None

    f = eventually(known, timeout=30, message="AAPL microstructure")
    assert f["spread"] > 0 and abs(f["mid"] - 190) < 20
    assert book.get("/api/v1/microstructure/QQQ").status_code == 404
