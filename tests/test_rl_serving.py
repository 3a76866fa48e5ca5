"""A trained RL agent served by the book's inference server: a tiny PPO agent trained here, saved with its
ONNX action head (`ml.rl.save_policy`), loaded from `settings.inference.models`, trades as
`RLPolicyStrategy(model="rl_policy")` beside the zip-loaded `RLPolicyStrategy(model_path=...)` in one
in-process SimClock book: on the same bars both make the same decisions, and the served one's decisions
went through the server (its request counter)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("onnxruntime")

from stable_baselines3 import A2C, PPO

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.live.rl import RLPolicyStrategy
from ultimate_nb.live.system import TradingSystem
from ultimate_nb.ml.rl import TradingEnv, export_policy_onnx, gbm_bars, policy_meta, save_policy, train_agent

START = 1_767_275_400_000_000_000
MINUTE_TICKS = 60 * 1000 // 250
FEATURES = ("ret_1", "ret_5", "rvol_10")


def sim_env(action: str = "discrete") -> TradingEnv:
    "Bars of the book's own simulator model (AAPL, one-minute bars of 250 ms ticks)."
    return TradingEnv(lambda rng: gbm_bars(160, rng), FEATURES, episode_len=120, max_position=50, action=action)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> str:
    model = train_agent(sim_env, "ppo", total_timesteps=256, seed=0, n_steps=128, batch_size=64, n_epochs=1)
    return str(save_policy(model, tmp_path_factory.mktemp("models") / "rl_ppo", sim_env(), seed=0))


@pytest.mark.parametrize("algo", [PPO, A2C])
@pytest.mark.parametrize("action", ["discrete", "continuous"])
def test_onnx_head_acts_as_sb3_predict_deterministic(tmp_path, algo, action):
    model = algo("MlpPolicy", sim_env(action), seed=1, device="cpu")
    rep = export_policy_onnx(model, tmp_path / "head.onnx", n_check=500, rng=np.random.default_rng(7), atol=1e-5)
    assert rep["rows"] == 500 and rep["mismatches"] == 0          # discrete: the argmax equals SB3's action
    assert rep["n_out"] == (3 if action == "discrete" else 1)     # logits, or the clipped mean
    if action == "continuous":
        assert rep["max_abs_diff"] <= 1e-5                        # the mean, clipped to [-1, 1], within 1e-5


def test_saved_policy_writes_a_checked_onnx_head_with_its_metadata(model_path):
    meta = policy_meta(model_path.replace(".zip", ".onnx"))
    assert meta["features"] == list(FEATURES) and meta["max_position"] == 50 and meta["action"] == "discrete"


def test_served_rl_policy_makes_the_zip_policys_decisions_in_the_book(tmp_path, model_path):
    onnx_path = model_path.replace(".zip", ".onnx")
    zipped = {"id": "rl_zip", "class": "ultimate_nb.live.rl:RLPolicyStrategy", "params": {"model_path": model_path},
              "symbols": ["AAPL"]}
    served = {"id": "rl_onnx", "class": "ultimate_nb.live.rl:RLPolicyStrategy", "params": {"model": "rl_policy"},
              "symbols": ["AAPL"]}
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path)},
                                 "strategy": {"strategies": [zipped, served]},
                                 "inference": {"models": {"rl_policy": {"path": onnx_path}}}}, env_file=None)
    book = TradingSystem(s, clock=SimClock(start_ns=START), strategy=None)
    try:
        a, b = book.strategies
        assert b.model == "rl_policy" and b.policy.meta["features"] == list(FEATURES)   # bound at start
        assert a.warmup_bars == b.warmup_bars
        book.run_simulated(20 * MINUTE_TICKS)
        assert len(a.decisions) >= 19 and b.errors == 0
        # the same targets from the same features and positions: float32 logits of ONNX Runtime and torch
        # differ by ~1e-7, so a flip needs two logits within that of each other (not seen with this seed)
        assert b.decisions == a.decisions
        assert book.position("AAPL", "rl_onnx") == book.position("AAPL", "rl_zip") == a.decisions[-1][3]
        reqs = book.metrics.registry.get_sample_value("ultimate_inference_requests_total",
                                                      {"model": "rl_policy", "path": "sync"})
        assert reqs == len(b.decisions)
    finally:
        book.close()


def test_served_rl_policy_needs_its_model_in_the_book(tmp_path, model_path):
    spec = {"id": "rl", "class": "ultimate_nb.live.rl:RLPolicyStrategy", "params": {"model": "rl_policy"},
            "symbols": ["AAPL"]}
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path)}, "strategy": {"strategies": [spec]}},
                      env_file=None)
    with pytest.raises(ValueError, match="rl_policy"):
        TradingSystem(s, clock=SimClock(start_ns=START), strategy=None)


def test_served_rl_policy_follows_a_new_version_swapped_in(tmp_path, model_path):
    swapped = A2C("MlpPolicy", sim_env("continuous"), seed=2, device="cpu")     # a new champion, other actions
    new_zip = save_policy(swapped, tmp_path / "rl_a2c", sim_env("continuous"), seed=2)
    spec = {"id": "rl", "class": "ultimate_nb.live.rl:RLPolicyStrategy", "params": {"model": "rl_policy"},
            "symbols": ["AAPL"]}
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path)}, "strategy": {"strategies": [spec]},
                                 "inference": {"models": {"rl_policy": {"path": model_path.replace(".zip", ".onnx")}}}},
                      env_file=None)
    book = TradingSystem(s, clock=SimClock(start_ns=START), strategy=None)
    try:
        strat = book.strategies[0]
        book.run_simulated(5 * MINUTE_TICKS)
        n = len(strat.decisions)
        assert n >= 4 and strat.policy.meta["action"] == "discrete"
        book.inference.reload("rl_policy", source=new_zip.with_suffix(".onnx"))
        book.run_simulated(5 * MINUTE_TICKS)
        assert strat.policy.meta["action"] == "continuous" and strat.policy.meta["algo"] == "a2c"
        assert len(strat.decisions) >= n + 4 and strat.errors == 0
        assert all(abs(q) <= 50 for _, _, _, q in strat.decisions)
    finally:
        book.close()
