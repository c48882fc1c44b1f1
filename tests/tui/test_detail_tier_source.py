"""Issue #20: the dashboard's detail pane names a cached tier table fetched from a non-venue URL
(``tiers update --rest-url``) as such, as the calc card and JSON do."""

from __future__ import annotations

from liqwatch import tiercache
from liqwatch.feeds.events import MarkPrice, PositionData, Positions
from liqwatch.state import State
from liqwatch.tui.widgets.detail import explain_parts


def test_detail_pane_names_a_table_from_a_test_server() -> None:
    tiercache.write_cache(
        "bybit",
        {
            "BTC/USDT:USDT": {
                "id": "BTCUSDT",
                "contract_size": 1.0,
                "tiers": [{"min": 0, "max": None, "mmr": 0.01, "max_leverage": 50, "maint_amount": 0}],
                "source_url": "http://127.0.0.1:8765/v5/market/risk-limit",
            }
        },
    )
    state = State(lambda: 10.0)
    data = PositionData(
        symbol="BTC/USDT:USDT",
        side="long",
        size=1.0,
        entry_price=60_000.0,
        margin_mode="isolated",
        leverage=10.0,
        isolated_margin=6000.0,
    )
    state.apply(Positions(account="a", exchange="bybit", ts=1.0, positions=[data]))
    state.apply(MarkPrice(account="a", exchange="bybit", ts=1.0, symbol="BTC/USDT:USDT", price=59_000.0))
    (view,) = state.snapshot().positions
    assert view.risk is not None and view.risk.tier.mmr == 0.01  # the cached table is the one used
    assert view.note.startswith("cache tiers as of ")  # not "bundled"
    (_head, rows), _build = explain_parts(view)[0]
    assert ("Tiers", "cache from http://127.0.0.1:8765 (not the venue)") in rows
