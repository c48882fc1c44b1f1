"""Coin-margined (inverse) perpetuals in live mode (issue #12), the real ccxt client against the fake
REST servers: per venue one isolated BTC inverse position end to end (REST -> PositionData -> the
risk core's spec, and liqwatch's liquidation price beside the venue's), a cross one backed by the
BTC wallet, and an account holding linear and inverse positions (two pools).

The payloads are the venues' own shapes (fields as the API references list them; Binance's cross
short is the recorded dev.binance.vision payload quoted in the reference note). Each isolated row's
liquidation price is what that venue's documented inverse formula gives for it (reference
inverse.md §1.0 with the venue's MM point, fee and maintenance amount), written out here
independently of the risk core.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from liqwatch.feeds.ccxt_client import FeedError
from liqwatch.feeds.events import Balance, MarkPrice, PositionData, Positions, Tiers
from liqwatch.feeds.rest import RestClient
from liqwatch.records import diff_ticks
from liqwatch.state import State
from liqwatch.venues import get_home
from tests.fakes.rest_harness import DEFAULT_KEY, SECRET, account, secrets
from tests.fakes.rest_server import FakeRestServer

INVERSE = "BTC/USD:BTC"
VENUES = ["binance", "bybit", "okx", "bitget", "gate"]
EP, MARK, LEV = 60000.0, 61000.0, 20.0
WALLET = 0.05
"""The BTC cross wallet every test account holds."""


def venue_lp(q: float, ep: float, margin: float, mmr: float, fee: float = 0.0, cum: float = 0.0, s: int = 1) -> float:
    """Reference inverse.md §1.0: LP = Q (s + MMR + f) / (M + cum + s Q / EP)."""
    return q * (s + mmr + fee) / (margin + cum + s * q / ep)


def upnl(q: float, s: int = 1) -> float:
    return s * q * (1 / EP - 1 / MARK)


@dataclass
class Case:
    """One venue's isolated inverse long and what liqwatch must read from it."""

    row: dict[str, Any]
    contracts: float
    contract_size: float
    size: float
    """USD face value."""
    margin: float
    """Coin margin of the venue's formula."""
    liq: float
    tick: float
    wallet_fields: dict[str, Any]
    """Raw wallet fields around the isolated margin (the cross wallet stays WALLET)."""


def binance_case(data: dict[str, Any]) -> Case:
    q, wallet = 1000.0, 0.000825  # 10 contracts of 100 USD; 20x less the opening fee
    liq = venue_lp(q, EP, wallet, 0.004)  # bracket 1 (0.0167 BTC < 5): MMR 0.4%, cum 0; no fee
    row = {
        "symbol": "BTCUSD_PERP",
        "positionAmt": "10",
        "entryPrice": "60000.0",
        "breakEvenPrice": "60030.0",
        "markPrice": f"{MARK:.8f}",
        "unRealizedProfit": f"{upnl(q):.8f}",
        "liquidationPrice": f"{liq:.8f}",
        "leverage": "20",
        "maxQty": "50",
        "marginType": "isolated",
        "isolatedMargin": f"{wallet + upnl(q):.8f}",
        "isAutoAddMargin": "false",
        "positionSide": "BOTH",
        "notionalValue": f"{q / MARK:.8f}",
        "isolatedWallet": f"{wallet:.8f}",
        "updateTime": 1764064790000,
    }
    return Case(row, 10, 100, q, wallet, liq, 0.1, {})


def bybit_case(data: dict[str, Any]) -> Case:
    q = 1000.0  # 1,000 contracts of 1 USD
    im = q / EP / LEV
    bust = 57143.0  # 1/(1/EP + IM/Q) = 57,142.857, printed on the 0.5 tick (a long's rounds up)
    margin = q * (1 / bust - 1 / EP)
    fee_to_close = 0.00055 * q / bust
    liq = 57429.0  # Bybit UTA (v2026 page): Q (1 + MMR) / (Q/EP + IM) = 57,428.57, up to the 0.5 tick
    assert abs(venue_lp(q, EP, im, 0.005) - 57428.57) < 0.01
    row = {
        "positionIdx": 0,
        "riskId": 1,
        "riskLimitValue": "40",
        "symbol": "BTCUSD",
        "side": "Buy",
        "size": "1000",
        "avgPrice": "60000",
        "positionValue": f"{q / EP:.8f}",
        "tradeMode": 1,
        "autoAddMargin": 0,
        "positionStatus": "Normal",
        "leverage": "20",
        "markPrice": "61000.00",
        "liqPrice": f"{liq:.2f}",
        "bustPrice": f"{bust:.2f}",
        "positionIM": f"{im + fee_to_close:.8f}",
        "positionMM": f"{q / EP * 0.005 + fee_to_close:.8f}",
        "positionBalance": f"{im + fee_to_close:.8f}",
        "takeProfit": "0.00",
        "stopLoss": "0.00",
        "trailingStop": "0.00",
        "unrealisedPnl": f"{upnl(q):.8f}",
        "curRealisedPnl": "-0.00000917",
        "cumRealisedPnl": "-0.00000917",
        "adlRankIndicator": 2,
        "isReduceOnly": False,
        "createdTime": "1764000000000",
        "updatedTime": "1764064790000",
        "seq": 8172241024,
    }
    return Case(row, 1000, 1, q, margin, liq, 0.5, {"walletBalance": f"{WALLET + im + fee_to_close:.12g}"})


def okx_case(data: dict[str, Any]) -> Case:
    q, margin = 1000.0, 0.00083333  # 10 contracts of ctVal 100 USD, 20x
    liq = venue_lp(q, EP, margin, 0.004, fee=0.0005)  # tier 1 MMR 0.4%, the account's 0.05% taker
    base = next(r for r in data["positions"] if r["instId"] == "BTC-USDT-SWAP")
    row = {
        **base,
        "instId": "BTC-USD-SWAP",
        "ccy": "BTC",
        "mgnMode": "isolated",
        "posSide": "net",
        "pos": "10",
        "availPos": "10",
        "avgPx": "60000",
        "lever": "20",
        "margin": f"{margin:.8f}",
        "imr": "",
        "mmr": f"{q / MARK * 0.004:.8f}",
        "markPx": "61000",
        "liqPx": f"{liq:.1f}",
        "upl": f"{upnl(q):.8f}",
        "notionalUsd": "1000",
        "adl": "2",
    }
    return Case(row, 10, 100, q, margin, float(f"{liq:.1f}"), 0.1, {"isoEq": margin + upnl(q), "isoUpl": upnl(q)})


def bitget_case(data: dict[str, Any]) -> Case:
    coins, margin = 0.02, 0.001  # 0.02 BTC at 60,000 = 1,200 USD, 20x
    q = coins * EP
    liq = venue_lp(q, EP, margin, 0.004, fee=0.0004)  # keepMarginRate 0.4%, the account's 0.04% taker
    base = next(r for r in data["positions"] if r["symbol"] == "BTCUSDT")
    row = {
        **base,
        "marginCoin": "BTC",
        "symbol": "BTCUSD",
        "holdSide": "long",
        "marginSize": f"{margin:g}",
        "available": "0.02",
        "total": "0.02",
        "leverage": "20",
        "openPriceAvg": "60000",
        "marginMode": "isolated",
        "posMode": "one_way_mode",
        "unrealizedPL": f"{upnl(q):.8f}",
        "liquidationPrice": f"{liq:.1f}",
        "keepMarginRate": "0.004",
        "markPrice": "61000",
        "breakEvenPrice": "60048",
    }
    return Case(row, coins, EP, q, margin, float(f"{liq:.1f}"), 0.1, {"isolatedMargin": margin, "unrealizedPL": 0})


def gate_case(data: dict[str, Any]) -> Case:
    q, margin = 1000.0, 0.00083333  # 1,000 contracts of 1 USD (quanto_multiplier 0), 20x
    liq = venue_lp(q, EP, margin, 0.003, fee=0.00075)  # tier 1 maintenance_rate 0.3%, Gate's 0.075%
    base = next(r for r in data["positions"] if r["contract"] == "BTC_USDT")
    row = {
        **base,
        "contract": "BTC_USD",
        "size": 1000,
        "leverage": "20",
        "lever": "20",
        "pos_margin_mode": "isolated",
        "cross_leverage_limit": "0",
        "risk_limit": "10",
        "maintenance_rate": "0.003",
        "value": f"{q / MARK:.8f}",
        "margin": f"{margin:.8f}",
        "entry_price": "60000",
        "liq_price": f"{liq:.1f}",
        "mark_price": "61000",
        "unrealised_pnl": f"{upnl(q):.8f}",
        "mode": "single",
        "risk_limit_table": "BTC_USD_202407",
    }
    return Case(row, 1000, 1, q, margin, float(f"{liq:.1f}"), 0.1, {"isolated_position_margin": margin})


CASES: dict[str, Callable[[dict[str, Any]], Case]] = {
    "binance": binance_case,
    "bybit": bybit_case,
    "okx": okx_case,
    "bitget": bitget_case,
    "gate": gate_case,
}


def put_positions(venue: str, fake: FakeRestServer, rows: list[dict[str, Any]], keep_linear: bool = False) -> None:
    if venue == "okx":  # one instType=SWAP read holds both
        linear = fake.data["positions"] if keep_linear else []
        fake.set_positions([*linear, *rows])
        return
    if not keep_linear:
        fake.set_positions([])
    fake.set_inverse_positions(rows)


def put_wallet(venue: str, fake: FakeRestServer, fields: dict[str, Any]) -> None:
    if venue == "bybit":
        wallet = float(fields.pop("walletBalance", WALLET))
        fake.set_inverse_wallet("BTC", wallet)
    else:
        fake.set_inverse_wallet("BTC", WALLET, **fields)


def read(
    venue: str, setup: Callable[[FakeRestServer], Any]
) -> tuple[Any, Positions, list[Balance], list[Tiers], list[MarkPrice]]:
    async def main() -> tuple[Any, Positions, list[Balance], list[Tiers], list[MarkPrice]]:
        async with FakeRestServer(venue) as fake:
            fake.add_inverse()
            made = setup(fake)
            client = RestClient(account(venue, fake.url, inverse=True), secrets(venue))
            client.cache_tiers = False
            try:
                positions, balances = await client.fetch_account_balances()
                symbols = sorted({p.symbol for p in positions.positions})
                tiers = await client.fetch_tiers(symbols)
                marks = await client.fetch_marks(symbols)
            finally:
                await client.close()
            return made, positions, balances, tiers, marks

    return asyncio.run(main())


def state_of(positions: Positions, balances: list[Balance], tiers: list[Tiers], marks: list[MarkPrice]) -> State:
    state = State(clock=lambda: max(m.ts for m in marks))
    for event in [*balances, *tiers, *marks, positions]:
        state.apply(event)
    return state


def only(positions: Positions, symbol: str = INVERSE) -> PositionData:
    found = [p for p in positions.positions if p.symbol == symbol]
    assert len(found) == 1, positions.positions
    return found[0]


@pytest.mark.parametrize("venue", VENUES)
def test_isolated_inverse_position_end_to_end(venue: str) -> None:
    def setup(fake: FakeRestServer) -> Case:
        case = CASES[venue](fake.data)
        put_positions(venue, fake, [case.row])
        put_wallet(venue, fake, dict(case.wallet_fields))
        return case

    case, positions, balances, tiers, marks = read(venue, setup)
    data = only(positions)
    assert data.inverse is True and data.settle == "BTC"
    assert data.side == "long" and data.margin_mode == "isolated"
    assert data.contracts == pytest.approx(case.contracts)
    assert data.contract_size == pytest.approx(case.contract_size)
    assert data.size == pytest.approx(case.size, rel=1e-12)  # USD face value
    assert data.isolated_margin == pytest.approx(case.margin, rel=1e-9)  # coin
    assert data.exchange_liquidation_price == pytest.approx(case.liq)
    assert data.tick_size == pytest.approx(case.tick)
    if venue == "binance":  # GET /dapi/v1/adlQuantile BOTH 2 -> 3 lights (0-4 -> 1-5)
        assert data.adl_lights == 3
    # one Balance per pool: USDT first, then the BTC wallet (cross only: isolated margin out)
    assert [b.currency for b in balances] == ["USDT", "BTC"]
    assert balances[1].wallet_balance == pytest.approx(WALLET, abs=1e-8)  # payload fields have 8 decimals
    assert [t.symbol for t in tiers] == [INVERSE] and tiers[0].tiers
    assert [m.symbol for m in marks] == [INVERSE] and marks[0].price == MARK

    state = state_of(positions, balances, tiers, marks)
    snap = state.snapshot()
    (view,) = snap.positions
    assert snap.accounts[0].wallets == {"USDT": pytest.approx(balances[0].wallet_balance), "BTC": pytest.approx(WALLET)}
    assert view.risk is not None, view.note
    spec = view.risk.spec
    assert spec.inverse and spec.settle == "BTC" and spec.size == pytest.approx(case.size)
    assert spec.contracts == pytest.approx(case.contracts) and spec.contract_size == pytest.approx(case.contract_size)
    ticks = diff_ticks(view)
    assert ticks is not None and abs(ticks) <= 1.0, (view.risk.liquidation_price, case.liq, ticks)


def test_binance_coin_m_brackets_read_both_floor_spellings() -> None:
    def setup(fake: FakeRestServer) -> None:
        put_positions("binance", fake, [binance_case(fake.data).row])
        fake.set_inverse_wallet("BTC", WALLET)

    tiers = read("binance", setup)[3]
    (table,) = tiers
    assert table.basis == "notional" and "coin notional" in table.note
    bounds = [(r.min_notional, r.max_notional, r.mmr, r.maint_amount) for r in table.tiers]
    # bracket 1 spells "qtylFloor" (as the docs' example), the others "qtyFloor"; caps in BTC
    assert bounds[0] == (0.0, 5.0, 0.004, 0.0)
    assert bounds[1] == (5.0, 10.0, 0.005, 0.005)
    assert bounds[6] == (200.0, 400.0, 0.125, 11.605)  # the published 300 BTC maintenance amount


def cross_row(venue: str, data: dict[str, Any]) -> dict[str, Any]:
    """A cross short of about 400 USD: the BTC wallet covers any rise (no liquidation price)."""
    if venue == "binance":  # dev.binance.vision t/7049 (reference inverse.md §1.1), recorded
        return {
            "symbol": "BTCUSD_PERP",
            "positionAmt": "-4",
            "entryPrice": "61765.49999957",
            "breakEvenPrice": "61735.0",
            "markPrice": "61765.60000000",
            "unRealizedProfit": "0.00000000",
            "liquidationPrice": "0",
            "leverage": "20",
            "maxQty": "50",
            "marginType": "cross",
            "isolatedMargin": "0.00000000",
            "isAutoAddMargin": "false",
            "positionSide": "BOTH",
            "notionalValue": "-0.00647610",
            "isolatedWallet": "0",
            "updateTime": 1764064790000,
        }
    row = CASES[venue](data).row
    if venue == "bybit":
        return {**row, "side": "Sell", "size": "400", "tradeMode": 0, "liqPrice": "", "bustPrice": ""}
    if venue == "okx":
        return {**row, "mgnMode": "cross", "pos": "-4", "availPos": "4", "margin": "", "liqPx": ""}
    if venue == "bitget":
        return {**row, "holdSide": "short", "total": "0.0066", "marginMode": "crossed", "liquidationPrice": "0"}
    return {**row, "size": -400, "pos_margin_mode": "cross", "leverage": "0", "margin": "0", "liq_price": "0"}


@pytest.mark.parametrize("venue", VENUES)
def test_cross_inverse_position_is_backed_by_the_btc_wallet(venue: str) -> None:
    def setup(fake: FakeRestServer) -> None:
        put_positions(venue, fake, [cross_row(venue, fake.data)])
        fake.set_inverse_wallet("BTC", WALLET)

    _, positions, balances, tiers, marks = read(venue, setup)
    data = only(positions)
    assert data.inverse and data.settle == "BTC" and data.side == "short" and data.margin_mode == "cross"
    assert data.isolated_margin is None and data.exchange_liquidation_price is None  # "0" / "": none
    assert data.size == pytest.approx(400 if venue != "bitget" else 0.0066 * EP)
    assert {b.currency: b.wallet_balance for b in balances}["BTC"] == pytest.approx(WALLET)
    state = state_of(positions, balances, tiers, marks)
    (view,) = state.snapshot().positions
    assert view.risk is not None, view.note
    assert view.risk.liquidation_price is None  # a short the wallet covers: no price liquidates it


def test_linear_and_inverse_account_has_two_pools() -> None:
    def setup(fake: FakeRestServer) -> None:
        case = binance_case(fake.data)
        put_positions("binance", fake, [case.row, cross_row("binance", fake.data)], keep_linear=True)
        fake.set_inverse_wallet("BTC", WALLET)

    _, positions, balances, tiers, marks = read("binance", setup)
    linear = [p for p in positions.positions if not p.inverse]
    inverse = [p for p in positions.positions if p.inverse]
    assert linear and all(p.settle == "USDT" for p in linear)
    assert len(inverse) == 2 and {p.margin_mode for p in inverse} == {"isolated", "cross"}
    assert [(b.currency, b.wallet_balance) for b in balances] == [("USDT", 10000.0), ("BTC", pytest.approx(WALLET))]
    state = state_of(positions, balances, tiers, marks)
    snap = state.snapshot()
    (acc,) = snap.accounts
    assert acc.wallet_balance == 10000.0  # the settle currency's wallet, as before
    assert acc.wallets == {"USDT": 10000.0, "BTC": pytest.approx(WALLET)}
    linear_views = [v for v in snap.positions if not v.data.inverse]
    assert linear_views and all(v.risk is not None for v in linear_views)  # the USDT pool is priced as before
    assert set(acc.pools) == {"USDT", "BTC"}
    assert acc.pools["BTC"].cross_wallet_balance == pytest.approx(WALLET)
    assert acc.pools["USDT"].cross_wallet_balance == 10000.0
    # what the what-if scenarios get: one wallet per pool
    assert state.accounts["main"].collateral() == {"USDT": 10000.0, "BTC": pytest.approx(WALLET)}


def test_inverse_markets_are_not_read_with_inverse_false() -> None:
    async def main() -> tuple[Positions, list[Balance], list[str]]:
        async with FakeRestServer("binance") as fake:
            fake.add_inverse()
            put_positions("binance", fake, [binance_case(fake.data).row], keep_linear=True)
            client = RestClient(account("binance", fake.url, inverse=False), secrets("binance"))
            try:
                positions, balances = await client.fetch_account_balances()
            finally:
                await client.close()
            return positions, balances, fake.paths()

    positions, balances, paths = asyncio.run(main())
    assert positions.positions and not any(p.inverse for p in positions.positions)
    assert [b.currency for b in balances] == ["USDT"]
    assert not any(p.startswith("/dapi/") for p in paths)


@pytest.mark.parametrize("venue", ["binance", "okx", "gate"])
def test_inverse_mismatch_names_the_margin_that_gives_the_venues_price(venue: str) -> None:
    """A venue price 25 ticks from ours: the mismatch event's implied margin (in the coin), fed
    back as the position's margin, reproduces the venue's price."""
    shifted: dict[str, float] = {}
    field = {"binance": "liquidationPrice", "okx": "liqPx", "gate": "liq_price"}[venue]
    margin_field = {"binance": "isolatedWallet", "okx": "margin", "gate": "margin"}[venue]

    def setup(fake: FakeRestServer, margin: float | None = None) -> Case:
        case = CASES[venue](fake.data)
        shifted.setdefault("lp", case.liq + 25 * case.tick)
        row = {**case.row, field: f"{shifted['lp']:.8f}"}
        if margin is not None:
            row[margin_field] = f"{margin:.12f}"
        put_positions(venue, fake, [row])
        put_wallet(venue, fake, dict(case.wallet_fields))
        return case

    _, positions, balances, tiers, marks = read(venue, setup)
    state = state_of(positions, balances, tiers, marks)
    snap = state.snapshot()
    (event,) = state.mismatches(snap)
    assert event["liquidation_price_diff_ticks"] == pytest.approx(-25, abs=1.0)
    implied = event["implied"]["isolated_margin"]
    assert implied is not None and implied != pytest.approx(event["inputs"]["isolated_margin"], rel=1e-6)
    if venue != "binance":  # the fee rate that would give the venue's price with our margin
        assert event["implied"]["fee_rate"] > event["inputs"]["fee_rate"]  # the venue's LP is higher (long)
    _, positions, balances, tiers, marks = read(venue, lambda fake: setup(fake, implied))
    (view,) = state_of(positions, balances, tiers, marks).snapshot().positions
    assert view.risk is not None and view.risk.liquidation_price == pytest.approx(shifted["lp"], abs=1e-4)


def test_inverse_markets_are_read_by_default() -> None:
    """No ``inverse`` in the config: the coin-margined positions and their coin wallet are read
    beside the linear ones, nothing to note."""

    async def main() -> tuple[Positions, list[Balance], list[str]]:
        async with FakeRestServer("binance") as fake:
            fake.add_inverse()
            case = binance_case(fake.data)
            put_positions("binance", fake, [case.row], keep_linear=True)
            put_wallet("binance", fake, dict(case.wallet_fields))
            client = RestClient(account("binance", fake.url), secrets("binance"))
            try:
                positions, balances = await client.fetch_account_balances()
            finally:
                await client.close()
            assert client.notes == []
            return positions, balances, fake.paths()

    positions, balances, paths = asyncio.run(main())
    assert any(p.inverse for p in positions.positions) and any(not p.inverse for p in positions.positions)
    assert [b.currency for b in balances] == ["USDT", "BTC"]
    assert "/dapi/v1/positionRisk" in paths


def read_with_coin_m_failing(setup: Callable[[FakeRestServer], None]) -> tuple[list[Positions], list[str], list[str]]:
    """Two account reads with the coin-margined part failing as ``setup`` makes it: (positions of
    each read, the client's notes after them, the paths asked)."""

    async def main() -> tuple[list[Positions], list[str], list[str]]:
        async with FakeRestServer("binance") as fake:
            fake.add_inverse()
            put_positions("binance", fake, [binance_case(fake.data).row], keep_linear=True)
            setup(fake)
            client = RestClient(account("binance", fake.url), secrets("binance"))
            reads: list[Positions] = []
            try:
                for _ in range(2):
                    positions, balances = await client.fetch_account_balances()
                    assert [b.currency for b in balances] == ["USDT"]
                    reads.append(positions)
            finally:
                await client.close()
            return reads, client.notes, fake.paths()

    return asyncio.run(main())


def test_a_missing_coin_wallet_drops_the_inverse_part_with_one_note() -> None:
    reads, notes, _ = read_with_coin_m_failing(lambda fake: None)  # no BTC asset in /dapi/v1/account
    (note,) = notes
    assert "\n" not in note and "BTC crossWalletBalance" in note and "coin-margined" in note
    assert "inverse = false" in note
    for positions in reads:  # the linear account goes on
        assert positions.positions and not any(p.inverse for p in positions.positions)


def test_a_key_without_coin_m_permission_keeps_the_linear_account() -> None:
    def deny(fake: FakeRestServer) -> None:
        fake.data["dapi_denied"] = True

    reads, notes, paths = read_with_coin_m_failing(deny)
    (note,) = notes  # once, not once per read
    assert "coin-margined (inverse) perpetuals not read" in note and "\n" not in note
    assert DEFAULT_KEY not in note and SECRET not in note
    assert all(r.positions and not any(p.inverse for p in r.positions) for r in reads)
    assert paths.count("/dapi/v1/positionRisk") == 1  # not asked again after the refusal


def test_coin_m_markets_that_cannot_be_loaded_keep_the_linear_account() -> None:
    def unlisted(fake: FakeRestServer) -> None:
        fake.data["dapi_exchangeInfo"] = None

    reads, notes, _ = read_with_coin_m_failing(unlisted)
    (note,) = notes
    assert "loading markets" in note
    assert all(r.positions and not any(p.inverse for p in r.positions) for r in reads)


def test_a_passing_coin_m_failure_is_retried_with_the_inverse_part_kept() -> None:
    async def main() -> tuple[Positions, list[str]]:
        async with FakeRestServer("binance") as fake:
            fake.add_inverse()
            put_positions("binance", fake, [binance_case(fake.data).row], keep_linear=True)
            put_wallet("binance", fake, dict(binance_case(fake.data).wallet_fields))
            client = RestClient(account("binance", fake.url), secrets("binance"))
            try:
                await client.open()
                fake.data["dapi_positionRisk_status"] = 503
                with pytest.raises(FeedError) as info:
                    await client.fetch_account_balances()
                assert "Internal error" in str(info.value)
                del fake.data["dapi_positionRisk_status"]
                positions, _ = await client.fetch_account_balances()
            finally:
                await client.close()
            return positions, client.notes

    positions, notes = asyncio.run(main())
    assert notes == [] and any(p.inverse for p in positions.positions)


def test_inverse_setting_is_refused_where_the_venue_lists_none() -> None:
    with pytest.raises(ValueError, match="hyperliquid lists no coin-margined perpetuals"):
        account("hyperliquid", None, inverse=True)


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx", "bitget", "gate", "deribit", "hyperliquid"])
def test_inverse_is_read_by_default_where_listed_and_false_opts_out(venue: str) -> None:
    rest = get_home(venue).rest
    assert rest.reads_inverse(account(venue, None)) is (venue != "hyperliquid")
    assert rest.reads_inverse(account(venue, None, inverse=False)) is False
    assert rest.account_options(account(venue, None, inverse=False)) == rest.options()


def test_bybit_inverse_margin_without_bust_price_takes_the_fee_to_close_out() -> None:
    """UTA rows send ``bustPrice`` "": the coin margin is positionBalance less the fee to close,
    t x Q / BP with 1/BP = 1/EP + M/Q (a long), at Bybit's base rate when the account's inverse
    rate is not given (then said in the margin note)."""
    q, t = 1000.0, 0.00055
    im = q / EP / LEV

    def setup(fake: FakeRestServer) -> Case:
        case = bybit_case(fake.data)
        balance = im * (1 + t) + t * q / EP  # = im + t x Q / BP exactly
        row = {**case.row, "bustPrice": "", "positionBalance": f"{balance:.12f}", "positionIM": f"{balance:.12f}"}
        put_positions("bybit", fake, [row])
        put_wallet("bybit", fake, {"walletBalance": f"{WALLET + balance:.12g}"})
        return case

    positions, balances, tiers, marks = read("bybit", setup)[1:]
    data = only(positions)
    assert data.isolated_margin == pytest.approx(im, rel=1e-9)
    assert "positionBalance" in data.margin_note and "assumed" in data.margin_note
    assert balances[1].wallet_balance == pytest.approx(WALLET, abs=1e-9)
    (view,) = state_of(positions, balances, tiers, marks).snapshot().positions
    ticks = diff_ticks(view)
    assert ticks is not None and abs(ticks) <= 1.0, ticks
