"""A trained RL policy trades in the loop: a tiny PPO agent trained on the simulator's model (ml.rl),
saved with save_policy and loaded from settings as `ultimate_nb.live.rl:RLPolicyStrategy`, in an
in-process book on a SimClock."""

from __future__ import annotations

import pytest

pytest.importorskip("stable_baselines3")

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.live.rl import RLPolicyStrategy
from ultimate_nb.live.system import TradingSystem
from ultimate_nb.ml.rl import TradingEnv, gbm_bars, save_policy, train_agent

START = 1_767_275_400_000_000_000
MINUTE_TICKS = 60 * 1000 // 250
FEATURES = ("ret_1", "ret_5", "rvol_10")


def sim_env() -> TradingEnv:
    "Bars of the book's own simulator model (AAPL, one-minute bars of 250 ms ticks)."
    return TradingEnv(lambda rng: gbm_bars(160, rng), FEATURES, episode_len=120, max_position=50)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> str:
    model = train_agent(sim_env, "ppo", total_timesteps=256, seed=0, n_steps=128, batch_size=64, n_epochs=1)
    return str(save_policy(model, tmp_path_factory.mktemp("models") / "rl_ppo", sim_env(), seed=0))


def test_rl_policy_from_settings_trades_toward_its_targets_in_the_book(tmp_path, model_path):
    spec = {"id": "rl", "class": "ultimate_nb.live.rl:RLPolicyStrategy", "params": {"model_path": model_path},
            "symbols": ["AAPL"]}
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path)}, "strategy": {"strategies": [spec]}},
                      env_file=None)
    book = TradingSystem(s, clock=SimClock(start_ns=START), strategy=None)
    try:
        strat = book.strategies[0]
        assert isinstance(strat, RLPolicyStrategy) and strat.strategy_id == "rl"
        book.run_simulated(20 * MINUTE_TICKS)
        d = strat.decisions
        assert len(d) >= 19                                   # warmed from history: a decision per bar
        assert {sym for _, sym, _, _ in d} == {"AAPL"}
        assert all(abs(q) <= 50 for _, _, _, q in d)
        assert book.position("AAPL", "rl") == d[-1][3]       # market orders fill at once: at the last target
        assert book.position("MSFT", "rl") == 0
        targets = {q for _, _, _, q in d}
        if targets != {0}:
            assert any(st.order.strategy_id == "rl" for st in book.oms.orders.values())
    finally:
        book.close()
