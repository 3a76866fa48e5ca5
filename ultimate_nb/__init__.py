"""A Jupyter-native research-to-production framework for systematic and options trading

Modules:

- `ultimate_nb.analytics.correlation`: Rolling, EWMA and DCC-GARCH correlation matrices, Ledoit-Wolf shrinkage, absorption-ratio correlation regimes, and cross-asset momentum and correlation-trading signals.
- `ultimate_nb.analytics.features`: A declarative library of 150 named, documented bar features (TA-Lib indicators, returns, rolling statistics, range-based volatility, volume, calendar, cross-asset and quote features) with a batch path over whole frames and a streaming pipeline that gives, bar by bar, exactly the batch values.
- `ultimate_nb.analytics.portfolio`: Mean-variance optimisation with real-world constraints, efficient frontiers, Black-Litterman with Idzorek confidences, equal-risk-contribution and hierarchical risk parity, and Kelly sizing, with pluggable covariance estimators.
- `ultimate_nb.analytics.regime`: Hidden Markov and Markov-switching volatility regimes with an online forward filter that never looks ahead, plus rule-based bull/bear/sideways and volatility regimes.
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
- `ultimate_nb.data.book`: A seeded Santa Fe zero-intelligence order flow on several lit venues and a dark pool, streamed as per-venue book snapshots, the consolidated NBBO, trades and bars, and a multi-symbol feed for the live loop.
- `ultimate_nb.data.chain`: Option chains for an underlying, simulated off a moving arbitrage-free SSVI surface or ingested from a venue, with per-update implied vols, Greeks, filters, arbitrage checks, unusual-activity alerts and Parquet snapshots.
- `ultimate_nb.data.historical`: Real market data that ships offline with installed packages, validated against the exchange calendar, stamped at the exchange close in UTC, and replayed onto the bus as bars and modelled quotes.
- `ultimate_nb.data.simulator`: A seeded multi-asset market: correlated prices with stochastic (Heston-type) variance, streamed as quotes, trades and bars, or generated in batch for research.
- `ultimate_nb.execution.alpaca`: The production broker and market-data adapters on alpaca-py: orders sent with our deterministic client order ids, trade updates mapped onto our venue events, REST behind retries and a circuit breaker, and reconciliation with the venue at start.
- `ultimate_nb.execution.alpaca_fake`: A local stand-in for Alpaca's trading and market-data APIs, with an honest little matching engine and fault injection, for testing the Alpaca adapter without keys or network.
- `ultimate_nb.execution.oms`: Tracks every order through its state machine, keeps positions and cash from the fills, journals each change before acting on it, and rebuilds itself from the journal after a crash.
- `ultimate_nb.execution.paper`: A matching engine against the simulated quotes or L2 books: market, limit and stop orders with time in force, fees, size-dependent slippage or book walking with queue positions, reported as venue events.
- `ultimate_nb.execution.pretrade`: The checks every order passes before it may leave the book: kill switch, known instrument, size, position and notional limits, a price collar and an order-rate throttle.
- `ultimate_nb.live.api`: The three network faces of a running book: the REST trading API on :8081, the WebSocket stream on :8082 and Prometheus metrics on :8083.
- `ultimate_nb.live.backtest`: Run a strategy through the live `TradingSystem` on a simulated clock over a replay or the simulator, get its orders, fills, equity curve and statistics, check it against vectorbt, and sweep or walk forward its parameters on Dask.
- `ultimate_nb.live.strategies`: Shipped strategies beside the crossover: a feature + model signal strategy that trades on a classifier served by the inference server.
- `ultimate_nb.live.strategy`: The interface a strategy implements, the context it trades through, loading strategies from settings, and the built-in moving-average crossover.
- `ultimate_nb.live.system`: Assembles one book: market data -> bus -> strategy -> pre-trade risk -> OMS -> paper broker -> fills -> positions and P&L, with metrics, health, a journal and recovery.
- `ultimate_nb.ml.generative`: A conditional WGAN-GP with a causal TCN generator for multi-asset daily returns, block-bootstrap, GARCH(1,1)-t and Gaussian baselines, a stylized-facts report, stress scenarios for `risk.stress` and Parquet export.
- `ultimate_nb.ml.inference`: An in-process inference server for the live loop: named, hot-swappable models on ONNX Runtime, TorchScript, torch or TensorRT; a sync call for the hot path and an asyncio micro-batcher with priority classes, timeouts, an LRU cache and a circuit breaker that falls back to closed-form Greeks; Prometheus metrics, a health dict and a REST route.
- `ultimate_nb.ml.multitask`: A torch network with a shared trunk and heads for price, delta, gamma, vega and theta; fixed, uncertainty (Kendall 2018) and GradNorm loss weighting; differential training on pathwise derivatives (Huge & Savine 2020); Black-Scholes, Bachelier-basket and Heston data; save/load, TorchScript and ONNX export.
- `ultimate_nb.options.american`: American (and Bermudan) vanilla options under Black-Scholes-Merton: batched Cox-Ross-Rubinstein and Leisen-Reimer trees with Broadie-Detemple smoothing and Richardson extrapolation, Longstaff-Schwartz least-squares Monte Carlo, Crank-Nicolson finite differences with Brennan-Schwartz projection, tree Greeks, the early-exercise boundary and a torch path for CUDA.
- `ultimate_nb.options.greeks`: European prices and every Greek to third order under Black-Scholes-Merton and Black-76, a Let's-Be-Rational implied-volatility solver, and portfolio aggregation, in fused numba kernels with a torch path for CUDA.
- `ultimate_nb.options.smile`: SABR (Hagan 2002 lognormal and normal), raw SVI with the Zeliade quasi-explicit fit and Gatheral's butterfly check, SSVI with the power-law phi, Lee-consistent wings and warm-started recalibration.
- `ultimate_nb.options.surface`: From an option chain to an arbitrage-checked surface: forwards from put-call parity, per-expiry SVI (or one SSVI), calendar-safe interpolation in total variance, Dupire local vol, term structure and an arbitrage report.
- `ultimate_nb.risk.attribution`: Where returns came from: factor regressions with Newey-West errors on Fama-French factors, rolling betas, P&L and risk contributions by strategy, asset or sector, Brinson-Fachler allocation and selection, risk-adjusted performance metrics, and Greeks P&L explain for option books.
- `ultimate_nb.risk.stress`: Historical episode replay and worst-window shocks, factor scenarios mapped to positions by betas, a named scenario library extensible from YAML, spot x vol ladders for option books, and reverse stress tests.
- `ultimate_nb.risk.var`: Historical (plain, age-weighted, filtered), parametric (normal, Student-t, Cornish-Fisher) and Monte Carlo VaR and expected shortfall, their decomposition, option books under full revaluation, and Basel backtests."""

__version__ = "0.1.0"
