"OrderDenied carries a machine-readable code (journaled, counted, in the API's answer); metrics carry a bounded strategy label."
from ultimate_nb.core.config import StrategyBudget, load_settings
from ultimate_nb.core.events import OrderDenied, OrderFilled
from ultimate_nb.data.historical import Replay, frames
from ultimate_nb.live.backtest import crossover
from ultimate_nb.live.system import TradingSystem


def _book(tmp_path, **risk):
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path), "url": "sqlite://"},
                                 "risk": {"max_order_qty": 150, **risk}}, env_file=None)
    spx = frames("sp500")["SPX"].iloc[:300]
    mac = crossover(10, 30)
    mac.budget = StrategyBudget(max_position_qty=50)            # the strategy's first order breaches it
    return TradingSystem(s, strategy=mac, feed=Replay({"SPX": spx})), mac


def test_denials_carry_their_code_in_the_journal_the_metric_and_the_api_map(tmp_path):
    book, mac = _book(tmp_path)
    try:
        book.run_simulated(100)
        from ultimate_nb.core.events import Order
        st = book.submit_order(Order("big-1", "SPX", "buy", 500, strategy_id="made-up"))
        assert st.status.value == "denied" and book.denial_codes["big-1"] == "max_order_qty"
        denied = [e for e in book.journal.events(stream="orders") if isinstance(e, OrderDenied)]
        codes = {e.client_order_id: e.code for e in denied}
        assert codes["big-1"] == "max_order_qty"
        budget = [c for cid, c in codes.items() if cid.startswith("mac-")]
        assert budget and set(budget) == {"strategy_budget"}     # the budget denial has its code too
        m = book.metrics
        assert m.value("ultimate_order_denials_total", code="max_order_qty", strategy="manual") == 1.0
        assert m.value("ultimate_order_denials_total", code="strategy_budget", strategy="mac") == len(budget)
        assert m.value("ultimate_order_denials_total", code="max_order_qty", strategy="made-up") is None
    finally:
        book.close()


def test_fills_orders_and_pnl_are_labelled_by_strategy(tmp_path):
    book, mac = _book(tmp_path)
    mac.budget = StrategyBudget()
    try:
        book.run_simulated(300)
        fills = [e for e in book.journal.events(stream="orders") if isinstance(e, OrderFilled)]
        assert fills
        m = book.metrics
        n = sum(m.value("ultimate_strategy_fills_total", strategy="mac", side=s) or 0.0 for s in ("buy", "sell"))
        assert n == len(fills)
        assert m.value("ultimate_strategy_orders_total", strategy="mac", status="filled") == len(fills)
        assert m.value("ultimate_strategy_orders_total", strategy="mac", status="submitted") == len(fills)
        snap = {r["id"]: r for r in book.strategy_snapshot()}
        book.update_account_metrics()
        assert abs(m.value("ultimate_strategy_pnl", strategy="mac") - snap["mac"]["pnl"]) < 1e-6 * max(1, abs(snap["mac"]["pnl"]))
    finally:
        book.close()
