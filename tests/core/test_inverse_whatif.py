"""What-if, shock, targets, ladder and partial liquidation for inverse (coin-margined) positions:
sizes in USD face, margins in coin, moves on the USD price; cross collateral per settle currency."""

from __future__ import annotations

import dataclasses

import pytest

from liqwatch.core import InputError, PositionSpec, assess, build_table, flat_table, get_venue
from liqwatch.core import whatif as wi
from liqwatch.core.tiers import TierTable
from liqwatch.markets import bundle

BINANCE = get_venue("binance")
BYBIT = get_venue("bybit")
OKX = get_venue("okx")
COINM = bundle(BINANCE).markets["BTC/USD:BTC"].table


def inv(
    side: str = "long", q: float = 50_000.0, entry: float = 50_000.0, mark: float | None = None, **kw: object
) -> PositionSpec:
    fields: dict[str, object] = {"isolated_margin": q / entry / 10, "leverage": 10.0}
    fields.update(kw)
    return PositionSpec(
        "BTC/USD:BTC",
        side,  # type: ignore[arg-type]
        q,
        entry,
        entry if mark is None else mark,
        fields.pop("tiers", flat_table(0.005, 0.0, 100)),  # type: ignore[arg-type]
        inverse=True,
        **fields,  # type: ignore[arg-type]
    )


def closed_lp(s: int, q: float, ep: float, m: float, mmr: float, f: float = 0.0, cum: float = 0.0) -> float:
    """inverse.md §1.0: LP = Q (s + MMR + f) / (M + cum + s Q / EP)."""
    return q * (s + mmr + f) / (m + cum + s * q / ep)


def test_add_size_averages_entry_in_coin_and_posts_coin_margin() -> None:
    spec = inv(q=10_000.0, entry=50_000.0, mark=40_000.0)
    r = wi.add_size(BINANCE, [spec], 0.0, 0, 10_000.0, 40_000.0)
    assert r.new_entry_price == pytest.approx(20_000 / (10_000 / 50_000 + 10_000 / 40_000), rel=1e-15)
    assert r.margin_added == pytest.approx(10_000 / 40_000 / 10, rel=1e-15)
    after = r.after.positions[0]
    assert after.spec.size == 20_000.0 and after.spec.isolated_margin == pytest.approx(0.02 + 0.025)
    assert after.liquidation_price == pytest.approx(closed_lp(1, 20_000, r.new_entry_price, 0.045, 0.005), rel=1e-12)
    # the bracket limit in USD face: at 10x the 0.5% flat table allows any size
    assert r.max_add_size is None
    capped = wi.add_size(BINANCE, [inv(q=10_000.0, tiers=COINM)], 0.0, 0, 0.0, 40_000.0)
    # 10x is allowed up to the 100 BTC cap (level 5): (100 - 0.2) BTC at 40,000 USD
    assert capped.max_add_size == pytest.approx((100 - 10_000 / 50_000) * 40_000, rel=1e-12)


def test_change_leverage_in_coin() -> None:
    spec = inv(q=50_000.0, entry=50_000.0, isolated_margin=0.1)
    keep = wi.change_leverage(BINANCE, [spec], 0.0, 0, 5.0)  # 1 BTC / 5x: post 0.1 BTC more
    assert keep.margin_change == pytest.approx(0.1, rel=1e-12)
    assert keep.after.positions[0].liquidation_price == pytest.approx(closed_lp(1, 50_000, 50_000, 0.2, 0.005))
    reset = wi.change_leverage(BYBIT, [spec], 0.0, 0, 20.0)  # Bybit: margin = value at entry / 20
    assert reset.margin_change == pytest.approx(0.05 - 0.1, rel=1e-12)


def test_add_and_remove_margin_in_coin() -> None:
    spec = inv("short", q=50_000.0, entry=50_000.0, mark=52_000.0, isolated_margin=0.1)
    r = wi.add_margin(BINANCE, [spec], 0.0, 0, 0.05)
    assert r.after.positions[0].liquidation_price == pytest.approx(closed_lp(-1, 50_000, 50_000, 0.15, 0.005))
    p = r.before.positions[0]
    lev_im = p.notional / 10  # margin kept for the current leverage, at mark, in coin
    loss = 50_000 * (1 / 50_000 - 1 / 52_000)
    assert r.max_removable == pytest.approx(max(0.0, 0.1 - loss - lev_im), abs=1e-15)


def test_shock_liquidates_inverse_positions_at_their_liquidation_prices() -> None:
    long_ = inv(q=50_000.0, entry=50_000.0, mark=50_000.0)
    short = dataclasses.replace(inv("short", q=20_000.0, entry=50_000.0, mark=50_000.0), symbol="ETH/USD:ETH")
    res = wi.shock(BINANCE, [long_, short], 0.0, [-0.5, -0.05, 0.05, 0.5])
    risk = assess(BINANCE, [long_, short])
    moves = {e.indices[0]: e.move for e in res.order}
    lp0, lp1 = (p.liquidation_price for p in risk.positions)
    assert lp0 is not None and lp1 is not None
    assert moves[0] == pytest.approx(lp0 / 50_000 - 1, rel=1e-12)
    assert moves[1] == pytest.approx(lp1 / 50_000 - 1, rel=1e-12)
    assert [e.pool for e in res.order] == ["BTC", "ETH"]
    first = res.steps[0]  # -50%: the long (liquidated near -9%) is gone, the short survives
    assert first.liquidated == [0] and first.survivors == [1]


def test_cross_pools_liquidate_separately_in_a_shock() -> None:
    linear = PositionSpec(
        "BTC/USDT:USDT", "long", 1.0, 50_000.0, 50_000.0, flat_table(0.005, 0.0, 100), margin_mode="cross"
    )
    btc = inv(q=100_000.0, margin_mode="cross", isolated_margin=None, leverage=None)
    wallets = {"USDT": 20_000.0, "BTC": 0.5}
    res = wi.shock(BINANCE, [linear, btc], wallets, [-0.5])
    by_pool = {e.pool: e for e in res.order}
    assert set(by_pool) == {"USDT", "BTC"} and all(e.scope == "cross account" for e in res.order)
    alone_usdt = assess(BINANCE, [linear], 20_000.0).positions[0].liquidation_price
    alone_btc = assess(BINANCE, [btc], 0.5).positions[0].liquidation_price
    assert alone_usdt is not None and alone_btc is not None
    assert by_pool["USDT"].move == pytest.approx(alone_usdt / 50_000 - 1, rel=1e-12)
    assert by_pool["BTC"].move == pytest.approx(alone_btc / 50_000 - 1, rel=1e-12)
    mid = wi.shock(BINANCE, [linear, btc], wallets, [(by_pool["BTC"].move + by_pool["USDT"].move) / 2])
    step = mid.steps[0]
    gone = "BTC" if abs(by_pool["BTC"].move) < abs(by_pool["USDT"].move) else "USDT"
    assert step.risk.pools is not None and step.risk.pools[gone].cross_wallet_balance == 0.0
    kept = "USDT" if gone == "BTC" else "BTC"
    assert step.risk.pools[kept].cross_wallet_balance == wallets[kept]


@pytest.mark.parametrize("mode", ["isolated", "cross"])
@pytest.mark.parametrize("side", ["long", "short"])
def test_target_mark_and_move(mode: str, side: str) -> None:
    spec = inv(side, q=400_000.0, entry=50_000.0, mark=49_000.0, tiers=COINM)
    wallet = 0.0
    if mode == "cross":
        spec = dataclasses.replace(spec, margin_mode="cross", isolated_margin=None)
        wallet = 0.8
    lp = assess(BINANCE, [spec], wallet).positions[0].liquidation_price
    assert wi.target_mark(BINANCE, [spec], wallet, 0, 1.0) == pytest.approx(lp, rel=1e-12)
    half = wi.target_mark(BINANCE, [spec], wallet, 0, 0.5)
    assert half is not None
    at = assess(BINANCE, [dataclasses.replace(spec, mark_price=half)], wallet)
    ratio = at.positions[0].margin_ratio if mode == "isolated" else at.account.cross_margin_ratio
    assert ratio == pytest.approx(0.5, rel=1e-9)
    move = wi.target_move(BINANCE, [spec], wallet, 0.5, down=side == "long")
    assert move == pytest.approx(half / 49_000 - 1, rel=1e-11)


def test_ladder_orders_inverse_positions_by_distance_on_the_price() -> None:
    near = inv(q=50_000.0, leverage=50.0, isolated_margin=50_000 / 50_000 / 50)
    far = dataclasses.replace(inv("short", q=50_000.0, leverage=3.0, isolated_margin=1 / 3), symbol="ETH/USD:ETH")
    covered = dataclasses.replace(inv("short", isolated_margin=1.0, leverage=1.0), symbol="SOL/USD:SOL")
    rungs = wi.ladder(assess(BINANCE, [covered, far, near]))
    assert [r.index for r in rungs] == [2, 1, 0]
    assert rungs[0].distance_to_liquidation is not None and 0 < rungs[0].distance_to_liquidation < 0.02
    assert rungs[1].distance_to_bankruptcy == pytest.approx(1 / (3 - 1), rel=1e-12)  # short BP = EP lev/(lev-1)
    assert rungs[2].liquidation_price is None and rungs[2].distance_to_liquidation is None


def test_incomplete_coin_table_refuses_in_coin_notional() -> None:
    """The bundled COIN-M table ends at 1,000 BTC: a long whose coin value at its liquidation price
    passes it is refused, naming coin notional in BTC."""
    spec = inv(q=900 * 50_000.0, tiers=COINM, leverage=3.0, isolated_margin=900 / 3)
    with pytest.raises(InputError) as err:
        assess(BINANCE, [spec])
    assert "coin notional" in str(err.value) and "BTC" in str(err.value) and "incomplete" in str(err.value)
    assert "at the liquidation price" in str(err.value)
    small = inv(q=100 * 50_000.0, tiers=COINM, leverage=5.0, isolated_margin=100 / 5)
    with pytest.raises(InputError) as err:
        wi.add_size(BINANCE, [small], 0.0, 0, 1_000 * 50_000.0)
    assert "coin notional" in str(err.value) and "1,000" in str(err.value)


def test_incomplete_contract_table_refuses_in_usd_and_contracts() -> None:
    rows: list[dict[str, float | None]] = [{"min": 0, "max": 2_000, "mmr": 0.005, "max_leverage": 100}]
    table: TierTable = build_table(
        rows, basis="quantity", boundary="cap_inclusive", derive_maint_amount=False, quantity_scale=100, complete=False
    )
    spec = inv(q=300_000.0, tiers=table, contract_size=100.0)
    with pytest.raises(InputError) as err:
        assess(OKX, [spec])
    assert "300,000 USD (3,000 contracts)" in str(err.value)


def test_partial_liquidation_reduces_to_the_next_lower_coin_bracket() -> None:
    """Binance's modelled step: down to the top of the next lower bracket, counted in BTC at the LP."""
    spec = inv(q=30 * 50_000.0, tiers=COINM, leverage=20.0, isolated_margin=30 / 20)
    preview = wi.partial_liquidation(BINANCE, [spec], 0.0, 0)
    assert preview.at_price is not None and preview.steps
    first = preview.steps[0]
    assert first.remaining_size / preview.at_price == pytest.approx(20.0, rel=1e-9)  # level 3 cap: 20 BTC
    assert first.remaining_size / preview.at_price < 20.0


def test_max_add_for_distance_on_an_inverse_position() -> None:
    spec = inv(q=50_000.0, mark=50_000.0, margin_mode="cross", isolated_margin=None)
    size, why = wi.max_add_for_distance(BINANCE, [spec], 0.3, 0, 0.08)
    assert why == "distance" and size > 0
    after = wi.add_size(BINANCE, [spec], 0.3, 0, size).after.positions[0]
    assert after.distance_to_liquidation == pytest.approx(0.08, rel=1e-6)


def test_shock_move_is_exact_when_a_bracket_boundary_falls_in_the_crossing_step() -> None:
    """Regression (linear too): a down-move whose crossing step also crosses a bracket boundary
    was returned after one bisection (the width test did not take |hi - lo|): off by up to 0.7
    points of move. Now it equals the liquidation price's move."""
    table = build_table(
        [
            {"min": 0, "max": 50_000, "mmr": 0.004, "max_leverage": 125},
            {"min": 50_000, "max": None, "mmr": 0.05, "max_leverage": 10},
        ]
    )
    for margin in (4_000.0, 5_000.0, 6_000.0, 7_000.0):
        spec = PositionSpec("BTC/USDT:USDT", "long", 1.1, 50_000.0, 50_000.0, table, isolated_margin=margin)
        lp = assess(BINANCE, [spec]).positions[0].liquidation_price
        assert lp is not None
        move = wi.shock(BINANCE, [spec], 0.0, [-0.9]).order[0].move
        assert move == pytest.approx(lp / 50_000 - 1, rel=1e-12, abs=1e-15)


def test_scenarios_that_change_the_size_keep_the_contracts_consistent() -> None:
    """A live position carries its count of contracts: add size and the partial-liquidation steps
    resize it (contracts = size / contract size), or the core's contracts x contract size check
    would refuse the changed position."""
    spec = inv(
        q=30 * 50_000.0, tiers=COINM, leverage=20.0, isolated_margin=30 / 20, contracts=15_000.0, contract_size=100.0
    )
    add = wi.add_size(BINANCE, [spec], 0.0, 0, 10_000.0, 40_000.0)
    grown = add.after.positions[0].spec
    assert grown.size == 1_510_000.0 and grown.contracts == pytest.approx(15_100.0, rel=1e-15)
    preview = wi.partial_liquidation(BINANCE, [spec], 0.0, 0)
    plain = wi.partial_liquidation(BINANCE, [dataclasses.replace(spec, contracts=None)], 0.0, 0)
    assert preview == plain and preview.steps[0].remaining_size / preview.at_price == pytest.approx(20.0)
    # the largest add up to the bracket cap (20x: 50 BTC) with the count of contracts along
    size, why = wi.max_add_for_distance(BINANCE, [spec], 0.0, 0, 0.01)
    assert why == "bracket" and wi.add_size(BINANCE, [spec], 0.0, 0, size * (1 - 1e-9)).allowed
    # no contract size known: the count scales with the size
    bare = wi.resized(dataclasses.replace(spec, contract_size=None), 750_000.0)
    assert bare.contracts == pytest.approx(7_500.0, rel=1e-15)
    assert wi.resized(inv(), 1.0).contracts is None
