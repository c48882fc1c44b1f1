"""Every venue's private position stream against its fake server (parametrised by venue): what a
push maps to, what a closed position does, the private URL, and recorded payloads through the core."""

from __future__ import annotations

import asyncio

import pytest

from liqwatch.feeds.events import Tiers
from liqwatch.feeds.private import private_ws_base
from liqwatch.feeds.rest import RestClient
from liqwatch.state import State
from tests.fakes.private_harness import VENUES, Harness, account, run, secrets

# (symbol, side, size, entry, margin mode, position side, leverage, isolated margin, mark, liq, adl, contract size)
EXPECTED_ETH = {
    # ACCOUNT_UPDATE has no mark, liq price, leverage or ADL: leverage and ADL come from the REST context
    "binance": ("ETH/USDT:USDT", "long", 2.5, 3010.0, "isolated", "long", 10.0, 750.0, None, None, 2, 1.0),
    "bybit": ("ETH/USDT:USDT", "long", 2.5, 3010.0, "cross", "both", 10.0, None, 3025.5, 2711.5, 4, 1.0),
    "okx": ("ETH/USDT:USDT", "long", 2.5, 3010.0, "isolated", "long", 10.0, 750.0, 3025.5, 2711.5, 4, 0.1),
    "hyperliquid": ("ETH/USDC:USDC", "long", 2.5, 3010.0, "isolated", "both", 10.0, 750.0, 3025.0, 2711.5, None, 1.0),
}


VENUE_TS = {"binance": 1764064900.123, "bybit": 1764064900.123, "okx": 1764064900.123, "hyperliquid": 1764064900.123}


@pytest.mark.parametrize("venue", VENUES)
def test_a_pushed_position_change_becomes_a_hint(venue: str) -> None:
    async def body(h: Harness) -> None:
        await h.connected()
        assert await h.fake.push(h.fake.message("change")) == 1
        await h.until(lambda: bool(h.hints()))

    h = run(venue, body)
    (hint,) = h.hints()
    assert hint.complete is False
    assert hint.ts == pytest.approx(VENUE_TS[venue])
    eth = [p for p in hint.positions if p.symbol.startswith("ETH/")]
    assert len(eth) == 1
    p = eth[0]
    row = (
        p.symbol,
        p.side,
        round(p.size, 10),
        p.entry_price,
        p.margin_mode,
        p.position_side,
        p.leverage,
        None if p.isolated_margin is None else round(p.isolated_margin, 8),
        p.mark_price,
        p.exchange_liquidation_price,
        p.adl_lights,
        p.contract_size,
    )
    assert row == EXPECTED_ETH[venue]
    # Hyperliquid pushes its whole state: every open position is in the hint
    assert len(hint.positions) == (3 if venue == "hyperliquid" else 1)
    assert [s.state for s in h.statuses()][:2] == ["connecting", "connected"]
    assert h.resyncs == 0
    if venue == "binance":
        # the user-data stream protocol and GETs only; the shared listen key is never deleted
        assert h.fake.listen_key_calls == ["POST"]
        assert {m for m, path, _ in h.fake.requests if path != "/fapi/v1/listenKey"} == {"GET"}


@pytest.mark.parametrize("venue", VENUES)
def test_a_closed_position_requests_a_resync_instead_of_a_hint(venue: str) -> None:
    async def body(h: Harness) -> None:
        await h.connected()
        if venue == "hyperliquid":  # full-state pushes: a position is closed when it is gone
            await h.fake.push(h.fake.message("change"))
            await h.until(lambda: len(h.hints()) == 1)
            assert h.resyncs == 0
        await h.fake.push(h.fake.message("closed"))
        await h.until(lambda: h.resyncs == 1)
        await asyncio.sleep(0.05)

    h = run(venue, body)
    assert h.resyncs == 1
    # the closed SOL position is never emitted (not even with size 0): REST removes it
    for hint in h.hints():
        assert all(not p.symbol.startswith("SOL/") or venue == "hyperliquid" for p in hint.positions)
    if venue == "hyperliquid":
        assert [p.symbol for p in h.hints()[-1].positions] == ["BTC/USDC:USDC", "ETH/USDC:USDC"]
    else:
        assert h.hints() == []


@pytest.mark.parametrize(
    ("venue", "ws_url", "base"),
    [
        ("binance", "wss://fstream.binance.com/market/ws", "wss://fstream.binance.com/ws"),
        ("binance", "ws://127.0.0.1:8080/public/ws", "ws://127.0.0.1:8080/ws"),
        ("binance", "wss://fstream.binancefuture.com/ws", "wss://fstream.binancefuture.com/ws"),
        ("binance", "wss://proxy.example/binance/market/ws/", "wss://proxy.example/binance/ws"),
        ("bybit", "wss://stream.bybit.com/v5/public/linear", "wss://stream.bybit.com/v5/private"),
        ("bybit", "wss://proxy.example/bybit/v5/public/linear", "wss://proxy.example/bybit/v5/private"),
        ("bybit", "ws://127.0.0.1:9", "ws://127.0.0.1:9/v5/private"),
        ("okx", "wss://ws.okx.com:8443/ws/v5/public", "wss://ws.okx.com:8443/ws/v5"),
        ("okx", "wss://wspap.okx.com:8443/ws/v5/public?brokerId=9999", "wss://wspap.okx.com:8443/ws/v5"),
        ("hyperliquid", "wss://api.hyperliquid.xyz/ws", "wss://api.hyperliquid.xyz/ws"),
    ],
)
def test_private_url_mapping(venue: str, ws_url: str, base: str) -> None:
    assert private_ws_base(venue, ws_url) == base


# --------------------------------------------------------------------------- the margin each venue's formula uses

# venue: (symbol, the margin its formula uses, its liquidation price: None where the push has none)
RECORDED: dict[str, tuple[str, float, float | None]] = {
    "binance": ("BTC/USDT:USDT", 87.1365894, None),  # the docs' ACCOUNT_UPDATE: iw, no price
    "bybit": ("ETH/USDT:USDT", 192.5865, 2587.08),  # 0.15 x (3,851.73 - bustPrice 2,567.82)
    "okx": ("ETH/USDT:USDT", 30.11, 2722.159673530889),
    "hyperliquid": ("ETH/USDC:USDC", 4.981226, 2866.26936529),  # rawUsd + szi x entryPx
}


@pytest.mark.parametrize("venue", VENUES)
def test_recorded_payloads_through_the_private_stream(venue: str) -> None:
    """The stream maps with the REST rules: a recorded push gives the margin the venue's formula
    uses and, where the venue sends a liquidation price, ours within one tick of it."""
    symbol, margin, venue_lp = RECORDED[venue]
    tiers: list[Tiers] = []

    async def body(h: Harness) -> None:
        if venue == "hyperliquid":  # the payload's own maxLeverage, 50
            universe = [
                {**a, "maxLeverage": 50, "marginTableId": 50} if a["name"] == "ETH" else a
                for a in h.fake.data["meta"]["universe"]
            ]
            h.fake.set("meta", {**h.fake.data["meta"], "universe": universe})
        await h.connected()
        await h.fake.push(h.fake.message("recorded"))
        await h.until(lambda: bool(h.hints()))
        rest = RestClient(account(venue, h.fake), secrets(venue))
        try:
            tiers.extend(await rest.fetch_tiers([symbol]))
        finally:
            await rest.close()

    h = run(venue, body)
    (hint,) = h.hints()
    (data,) = [p for p in hint.positions if p.symbol == symbol]
    assert data.margin_mode == "isolated"
    assert data.isolated_margin == pytest.approx(margin, abs=1e-9)
    assert data.exchange_liquidation_price == venue_lp
    assert data.tick_size is not None
    state = State(lambda: hint.ts)
    for table in tiers:
        state.apply(table)
    state.apply(hint)
    (view,) = [v for v in state.snapshot().positions if v.data.symbol == symbol]
    assert view.risk is not None and view.risk.liquidation_price is not None
    if venue_lp is not None:
        assert abs(view.risk.liquidation_price - venue_lp) <= data.tick_size * (1 + 1e-9)
    assert state.mismatches(state.snapshot()) == []
