"""A failure in the book's own marking of a bar (controls, equity) is counted and logged; the loop goes on."""

import math

from ultimate_nb.core.config import load_settings
from ultimate_nb.live.system import TradingSystem


def test_a_failing_mark_is_counted_and_the_next_bars_are_marked(tmp_path):
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path), "url": "memory://"},
                                 "market": {"feed": "replay:sp500", "speed": math.inf}}, env_file=None)
    book = TradingSystem(s)
    calls, real = [], book.controls.on_mark

    def flaky(equity, gross):
        calls.append(equity)
        if len(calls) == 3:
            raise RuntimeError("controls down")
        return real(equity, gross)

    book.controls.on_mark = flaky
    try:
        book.run_simulated(50)
        assert book.metrics.value("ultimate_bus_handler_errors_total", handler="book.on_bar") == 1.0
        assert len(book.equity_curve) == 49                  # every bar but the failing one
        assert len(calls) >= 50 and book.controls.day is not None
    finally:
        book.close()
