"""A Jupyter-native research-to-production framework for systematic and options trading

Modules:

- `ultimate_nb.core.bus`: Typed publish/subscribe: synchronous handlers on the hot path, bounded queues with overflow policies and backpressure for async consumers.
- `ultimate_nb.core.clock`: One source of time for every component: `LiveClock` reads the wall clock, `SimClock` moves only when the backtest engine moves it.
- `ultimate_nb.core.config`: One typed settings tree, layered: defaults < YAML/JSON file < environment and `.env` < command line < runtime updates of tunable fields.
- `ultimate_nb.core.device`: One place that decides between CUDA and CPU, reports what hardware and libraries are present, and moves arrays to and from the device.
- `ultimate_nb.core.events`: Instruments, market data, orders, the order state machine, fills, positions and account state as immutable, validated records.
- `ultimate_nb.core.logging`: One JSON object per log line, with component, correlation id and secret redaction, on the standard `logging` module.
- `ultimate_nb.core.metrics`: Prometheus counters, gauges and sub-millisecond latency histograms in a registry per instance, and a component health model.
- `ultimate_nb.core.parallel`: Get a Dask client (a scheduler from `DASK_SCHEDULER_ADDRESS`, or an in-process `LocalCluster`) and map functions over items in parallel, in order.
- `ultimate_nb.core.resilience`: Circuit breaker, retry with exponential backoff and full jitter, and a token-bucket rate limiter, all driven by an injected clock.
- `ultimate_nb.core.store`: An append-only, write-ahead event journal in SQLite (WAL) or PostgreSQL through SQLAlchemy 2, with replay for restart.
- `ultimate_nb.data.simulator`: A seeded multi-asset market: correlated prices with stochastic (Heston-type) variance, streamed as quotes, trades and bars, or generated in batch for research.
- `ultimate_nb.execution.oms`: Tracks every order through its state machine, keeps positions and cash from the fills, journals each change before acting on it, and rebuilds itself from the journal after a crash.
- `ultimate_nb.execution.paper`: A matching engine against the simulated quotes: market, limit and stop orders with time in force, fees and size-dependent slippage, reported as venue events.
- `ultimate_nb.execution.pretrade`: The checks every order passes before it may leave the book: kill switch, known instrument, size, position and notional limits, a price collar and an order-rate throttle.
- `ultimate_nb.live.api`: The three network faces of a running book: the REST trading API on :8081, the WebSocket stream on :8082 and Prometheus metrics on :8083.
- `ultimate_nb.live.strategy`: The interface a strategy implements, the context it trades through, and the built-in moving-average crossover.
- `ultimate_nb.live.system`: Assembles one book: market data -> bus -> strategy -> pre-trade risk -> OMS -> paper broker -> fills -> positions and P&L, with metrics, health, a journal and recovery."""

__version__ = "0.1.0"
