"""The backstop and the market (issue #13): insurance funds, ADL risk, mark vs index, funding.

* :mod:`.model` — the validated data (:class:`MarketReport` and its parts) and the ``watch`` line;
* :mod:`.compute` — pure computations: divergence, change over a window, drawdown from the
  8-hour max, Bybit's ADL state;
* :mod:`.history` — the SQLite history (WAL, bounded, survives restarts; corrupt -> moved aside);
* :mod:`.venue` — the base of each venue's adapter (``liqwatch/venues/<venue>/market.py``) and
  the registry hook :func:`~.venue.get_market`;
* :mod:`.client` — one venue's public data through ccxt;
* :mod:`.service` — history enrichment and the :class:`~.service.MarketPoller`;
* :mod:`.demo` — the demo market's pools, funding and index (offline).

The interface for views (the dashboard's backstop panel)::

    poller = MarketPoller(clients, symbols=lambda exchange: [...held...], on_report=callback,
                          history=History())            # or DemoMarketSource(market).run(callback)
    report.insurance / report.adl_risk / report.symbols  # validated models (see model.py)
    history.series(exchange, "insurance", pool_key(pool.pool, pool.asset), since=now - 86400)
"""

from __future__ import annotations
