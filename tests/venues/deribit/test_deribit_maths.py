"""Deribit's USDC linear perpetuals: the published margin ramp (support article 25944738177565)
and the liquidation price it gives, checked against the article's worked examples and against
the account condition (equity = maintenance margin) at the computed price."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from liqwatch.cli import main
from liqwatch.core import InputError, PositionSpec, assess, check_position, flat_table, get_venue
from liqwatch.core import whatif as wi
from liqwatch.core.venues.deribit import RAMPS, Deribit, account_margin_ratio, ramp_table
from liqwatch.markets import bundle, find_market

DERIBIT = get_venue("deribit")
assert isinstance(DERIBIT, Deribit)
BTC = "BTC/USDC:USDC"
SOL = "SOL/USDC:USDC"


def table(symbol: str = BTC) -> Any:
    market = bundle(DERIBIT).markets[symbol]
    return market.table


def spec(
    side: str = "long",
    size: float = 25.0,
    entry: float = 60000.0,
    mark: float | None = None,
    mode: str = "cross",
    margin: float | None = None,
    symbol: str = BTC,
    **kw: Any,
) -> PositionSpec:
    return PositionSpec(
        symbol=symbol,
        side=side,  # type: ignore[arg-type]
        size=size,
        entry_price=entry,
        mark_price=entry if mark is None else mark,
        tiers=kw.pop("tiers", None) or table(symbol),
        margin_mode=mode,  # type: ignore[arg-type]
        isolated_margin=margin,
        **kw,
    )


# --------------------------------------------------------------------------- the published examples


def test_btc_25_the_article_maintenance_and_initial_margin() -> None:
    ramp = RAMPS[BTC]
    assert ramp.mmr(25) == pytest.approx(0.01125, rel=1e-12)
    assert ramp.imr(25) == pytest.approx(0.02125, rel=1e-12)
    assert 25 * ramp.mmr(25) == pytest.approx(0.28125, rel=1e-12)  # "MM 1.125% (0.28125 BTC)"
    assert 25 * ramp.imr(25) == pytest.approx(0.53125, rel=1e-12)  # "IM 2.125% (0.53125 BTC)"


def test_btc_350_and_sol_6000_the_article_initial_margin() -> None:
    assert RAMPS[BTC].imr(350) == pytest.approx(0.0375, rel=1e-12)
    assert 350 * RAMPS[BTC].imr(350) == pytest.approx(13.125, rel=1e-12)  # "350 BTC -> IM 3.75% (13.125 BTC)"
    assert RAMPS[SOL].imr(6000) == pytest.approx(0.07, rel=1e-12)
    assert 6000 * RAMPS[SOL].imr(6000) == pytest.approx(420.0, rel=1e-12)  # "6,000 SOL -> IM 7% = 420 SOL"
    assert RAMPS[SOL].mmr(6000) == pytest.approx(0.05, rel=1e-12)  # 2% + 6,000 x 0.0005%


@pytest.mark.parametrize(
    ("symbol", "size", "mark", "mm_coin"),
    [(BTC, 25.0, 61234.5, 0.28125), (BTC, 350.0, 58000.0, 350 * 0.0275), (SOL, 6000.0, 142.37, 300.0)],
)
def test_the_engine_charges_the_ramp_in_usdc(symbol: str, size: float, mark: float, mm_coin: float) -> None:
    risk = assess(DERIBIT, [spec(size=size, entry=mark, symbol=symbol)], 1e9).positions[0]
    assert risk.maintenance_margin == pytest.approx(mm_coin * mark, rel=1e-12)
    assert risk.tier.mmr == pytest.approx(mm_coin / size, rel=1e-12)
    assert risk.tier.max_leverage == pytest.approx(1 / RAMPS[symbol].imr(size), rel=1e-12)
    assert risk.liquidation_fee == 0.0 and risk.tier.maint_amount == 0.0


def test_the_bundled_rows_are_the_ramp_at_size_zero() -> None:
    for symbol, ramp in RAMPS.items():
        (tier,) = table(symbol).tiers
        assert tier.mmr == ramp.mm_base and tier.max_leverage == pytest.approx(1 / ramp.im_base)
    assert set(bundle(DERIBIT).markets) == set(RAMPS)


# --------------------------------------------------------------------------- liquidation price


def closed_form(side: str, size: float, entry: float, collateral: float, mmr: float) -> float:
    s = 1 if side == "long" else -1
    return (collateral - s * size * entry) / (size * (mmr - s))


def test_btc_25_long_cross_liquidation_price() -> None:
    # 25 BTC long @ 60,000 on 100,000 USDC: 100,000 + 25 (LP - 60,000) = 25 LP x 1.125%
    risk = assess(DERIBIT, [spec()], 100_000.0).positions[0]
    assert risk.liquidation_price == pytest.approx(1_400_000 / (25 * 0.98875), rel=1e-13)
    assert risk.liquidation_price == pytest.approx(56637.1681416, rel=1e-10)
    assert risk.margin_ratio == pytest.approx(16_875 / 100_000, rel=1e-12)


@settings(max_examples=300, deadline=None)
@given(
    side=st.sampled_from(["long", "short"]),
    symbol=st.sampled_from([BTC, SOL]),
    size=st.floats(0.001, 5000),
    entry=st.floats(1.0, 200_000.0),
    move=st.floats(-0.3, 0.3),
    lev=st.floats(1.0, 20.0),
)
def test_margin_ratio_is_one_at_the_liquidation_price(
    side: str, symbol: str, size: float, entry: float, move: float, lev: float
) -> None:
    wallet = size * entry / lev
    mark = entry * (1 + move)
    risk = assess(DERIBIT, [spec(side, size, entry, mark, symbol=symbol)], wallet).positions[0]
    lp = risk.liquidation_price
    expected = closed_form(side, size, entry, wallet, RAMPS[symbol].mmr(size))
    if expected <= 0:
        assert lp is None
        return
    assert lp is not None and lp == pytest.approx(expected, rel=1e-9)
    assume(lp > entry * 1e-6)  # a price of ~1e-16 (a 1x long) leaves no margin balance to divide by
    at_lp = assess(DERIBIT, [spec(side, size, entry, lp, symbol=symbol)], wallet).positions[0]
    assert at_lp.margin_ratio == pytest.approx(1.0, rel=1e-9)
    assert at_lp.maintenance_margin == pytest.approx(size * lp * RAMPS[symbol].mmr(size), rel=1e-12)
    assert risk.bankruptcy_price is not None
    assert (lp - risk.bankruptcy_price) * (1 if side == "long" else -1) > 0  # liquidation first
    # alone in the account, cross equals isolated with the same collateral
    alone = assess(DERIBIT, [spec(side, size, entry, mark, mode="isolated", margin=wallet, symbol=symbol)])
    assert alone.positions[0].liquidation_price == pytest.approx(lp, rel=1e-12)


def test_two_symbols_share_the_account() -> None:
    specs = [spec(), spec("short", 6000.0, 150.0, symbol=SOL)]
    account = assess(DERIBIT, specs, 120_000.0)
    # BTC's price: the SOL leg's requirement is held at its mark (an account-level condition)
    sol_mm = 6000 * 150 * RAMPS[SOL].mmr(6000)
    expected = closed_form("long", 25, 60000, 120_000 - sol_mm, RAMPS[BTC].mmr(25))
    assert account.positions[0].liquidation_price == pytest.approx(expected, rel=1e-12)
    assert account.account.maintenance_margin == pytest.approx(16_875 + sol_mm, rel=1e-12)


# --------------------------------------------------------------------------- what-if follows the size


def test_adding_size_moves_the_rate_up_the_ramp() -> None:
    result = wi.add_size(DERIBIT, [spec()], 2_000_000.0, 0, 325.0)
    assert result.before.positions[0].tier.mmr == pytest.approx(0.01125, rel=1e-12)
    after = result.after.positions[0]
    assert after.spec.size == 350.0
    assert after.tier.mmr == pytest.approx(0.0275, rel=1e-12)  # 1% + 350 x 0.005%
    assert after.maintenance_margin == pytest.approx(350 * 60000 * 0.0275, rel=1e-12)


def test_target_mark_uses_the_size_rate() -> None:
    specs = [spec()]
    lp = assess(DERIBIT, specs, 100_000.0).positions[0].liquidation_price
    assert wi.target_mark(DERIBIT, specs, 100_000.0, 0, 1.0) == pytest.approx(lp, rel=1e-12)
    iso = [spec(mode="isolated", margin=75_000.0)]
    lp_iso = assess(DERIBIT, iso, 0.0).positions[0].liquidation_price
    assert wi.target_mark(DERIBIT, iso, 0.0, 0, 1.0) == pytest.approx(lp_iso, rel=1e-12)


def test_a_stated_rate_is_used_as_given() -> None:
    pinned = flat_table(0.02, 0.0, 50.0)
    risk = assess(DERIBIT, [spec(tiers=pinned)], 100_000.0).positions[0]
    assert risk.tier.mmr == 0.02


def test_leverage_above_the_ramp_initial_margin_is_refused() -> None:
    check_position(spec(leverage=47.0), DERIBIT)  # 1 / 2.125% = 47.06x at 25 BTC
    with pytest.raises(InputError) as info:
        check_position(spec(leverage=48.0), DERIBIT)
    assert info.value.field == "leverage"


def test_ramp_table_is_one_size_bracket() -> None:
    t = ramp_table(RAMPS[BTC], 10.0)
    assert t.basis == "quantity" and len(t.tiers) == 1 and t.tiers[0].mmr == pytest.approx(0.0105)


def test_account_margin_ratio() -> None:
    assert account_margin_ratio(0.05, 0.5) == pytest.approx(0.1)
    assert account_margin_ratio(0.05, 0.0) is None
    assert account_margin_ratio(None, 1.0) is None


# --------------------------------------------------------------------------- calc


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["calc", "--exchange", "deribit", *args, "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def run_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["calc", "--exchange", "deribit", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    return err[0]


def test_calc_linear_by_venue_id(capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--symbol", "BTC_USDC-PERPETUAL", "--side", "long", "--size", "25", "--entry", "60000"]
    p = run_json(capsys, *flags, "--leverage", "20", "--margin-mode", "cross", "--wallet-balance", "100000")
    pos = p["positions"][0]
    assert pos["symbol"] == BTC
    assert pos["maintenance_margin"] == pytest.approx(0.28125 * 60000, rel=1e-12)
    assert pos["liquidation_price"] == pytest.approx(56637.1681416, rel=1e-10)


@pytest.mark.parametrize("symbol", ["BTC-PERPETUAL", "ETH-PERPETUAL", "BTC/USD:BTC"])
def test_calc_refuses_inverse_in_one_line(capsys: pytest.CaptureFixture[str], symbol: str) -> None:
    line = run_error(capsys, "--symbol", symbol, "--side", "long", "--size", "100", "--entry", "60000")
    # why (account level; Deribit does list them) and the way out
    assert "inverse" in line and "account level" in line and "BTC/USDC:USDC" in line


def test_calc_unknown_ramp_asks_for_the_rate(capsys: pytest.CaptureFixture[str]) -> None:
    line = run_error(capsys, "--symbol", "ETH_USDC-PERPETUAL", "--side", "long", "--size", "1", "--entry", "3000")
    assert "mmr" in line
    pos = run_json(
        capsys,
        "--symbol",
        "ETH_USDC-PERPETUAL",
        "--side",
        "long",
        "--size",
        "1",
        "--entry",
        "3000",
        "--mmr",
        "0.01",
        "--leverage",
        "10",
    )["positions"][0]
    assert pos["mmr"] == 0.01


def test_venue_ids_resolve() -> None:
    assert find_market(DERIBIT, "btc_usdc-perpetual")[0] == BTC
    assert find_market(DERIBIT, "SOL_USDC-PERPETUAL")[0] == SOL


def test_an_inverse_spec_is_refused_with_the_reason_and_the_way_out() -> None:
    face = PositionSpec(
        symbol="BTC/USD:BTC",
        side="long",
        size=20_000.0,
        entry_price=60_000.0,
        mark_price=60_000.0,
        tiers=flat_table(0.01, 0.0, 50.0),
        isolated_margin=0.1,
        inverse=True,
        settle="BTC",
    )
    with pytest.raises(InputError) as info:
        assess(DERIBIT, [face])
    assert info.value.field == "inverse"
    assert "account level" in info.value.message and "BTC/USDC:USDC" in info.value.message
