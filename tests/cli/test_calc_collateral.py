"""``liqwatch calc`` on multi-collateral accounts (issue #21 point 3): portfolio files with
``account_mode`` and ``collateral``, the one-position flags, ``--collateral-shock``, ``--shock`` with
co-moving collateral, and single accounts byte for byte as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from liqwatch.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "collateral_calc"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "portfolio.toml"

ACCOUNT_KEYS = {
    "mode",
    "effective_equity",
    "collateral",
    "maintenance_margin",
    "margin_ratio",
    # added beside the keys
    "equity_usd",
    "haircut_usd",
    "margin_ratio_native",
    "margin_ratio_native_name",
    "liquidation_trigger",
    "status",
    "currency",
}
COLLATERAL_KEYS = {"asset", "amount", "price", "value_usd", "collateral_value_usd", "ratio"}  # the issue's, no more
POSITION_EXTRA_KEYS = {
    "liquidation_price_below",
    "liquidation_price_above",
    "collateral_co_moving",
    "maintenance_requirement_usd",
    "bankruptcy_price_unavailable",
}

BTC_LONG = {
    "symbol": "BTC/USDT:USDT",
    "side": "long",
    "size": 1,
    "entry_price": 52_000,
    "mark_price": 50_000,
    "margin_mode": "cross",
    "mmr": 0.01,
    "maint_amount": 0,
    "max_leverage": 50,
}


def account(
    collateral: list[dict[str, Any]], positions: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "exchange": "binance",
        "account_mode": "multi_assets",
        "collateral": collateral,
        "positions": positions if positions is not None else [BTC_LONG],
        **extra,
    }


TWO_ASSETS = [
    {"asset": "USDT", "amount": 5_000, "price": 1, "ratio": 1},
    {"asset": "BTC", "amount": 0.2, "price": 50_000, "ratio": 0.9},
]


def write(tmp_path: Path, doc: dict[str, Any], name: str = "p.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def calc_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["calc", *argv, "--json", "--offline"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["calc", *argv, "--offline"])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == ""
    assert len(err.splitlines()) == 1 and err.startswith("liqwatch: error: "), err
    assert "Traceback" not in err
    return err


# ------------------------------------------------------------------------------------ JSON keys


def test_json_keys_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = calc_json(capsys, "--portfolio", str(write(tmp_path, account(TWO_ASSETS))))
    single = calc_json(capsys, "--portfolio", str(EXAMPLE))
    assert list(doc) == list(single) == ["exchange", "formula", "positions", "account"]
    assert set(doc["account"]) == ACCOUNT_KEYS
    assert doc["account"]["mode"] == "multi_assets"
    assert [list(row) for row in doc["account"]["collateral"]] == [
        ["asset", "amount", "price", "value_usd", "collateral_value_usd", "ratio"]
    ] * 2
    # every key a single account's position has, in its order, then the added ones
    position_keys = list(single["positions"][0])
    assert list(doc["positions"][0]) == position_keys + sorted(POSITION_EXTRA_KEYS, key=list(doc["positions"][0]).index)
    # no single-collateral figure for this account
    assert "wallet_balance" not in doc["account"] and "pools" not in doc["account"]
    assert doc["positions"][0]["bankruptcy_price"] is None
    assert doc["positions"][0]["liquidation_loss"] is None
    assert doc["positions"][0]["liquidation_loss_unavailable"]


# ------------------------------------------------------------------------------ hand-derived


def test_hand_derived_two_asset_account(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """5,000 USDT (ratio 1) and 0.2 BTC at 50,000 (ratio 0.9) behind a cross long of 1 BTC from
    52,000, marked 50,000, MMR 1 %, no maintenance amount, Binance (no liquidation fee).

    USDT equity = 5,000 + (50,000 - 52,000) = 3,000; BTC value 10,000, counted 9,000.
    Effective equity 12,000; equity 13,000; haircut 1,000; MM = 50,000 x 1 % = 500.
    Liquidation: 5,000 + (P - 52,000) + 0.2 x 0.9 x P = 0.01 x P  =>  P = 47,000 / 1.17."""
    doc = calc_json(capsys, "--portfolio", str(write(tmp_path, account(TWO_ASSETS))))
    acc = doc["account"]
    assert acc["effective_equity"] == pytest.approx(12_000.0, rel=1e-12)
    assert acc["equity_usd"] == pytest.approx(13_000.0, rel=1e-12)
    assert acc["haircut_usd"] == pytest.approx(1_000.0, rel=1e-12)
    assert acc["maintenance_margin"] == pytest.approx(500.0, rel=1e-12)
    assert acc["margin_ratio"] == pytest.approx(500.0 / 12_000.0, rel=1e-12)
    usdt, btc = acc["collateral"]
    assert usdt == {
        "asset": "USDT",
        "amount": 5_000.0,
        "price": 1.0,
        "value_usd": pytest.approx(3_000.0),
        "collateral_value_usd": pytest.approx(3_000.0),
        "ratio": pytest.approx(1.0),
    }
    assert btc["value_usd"] == pytest.approx(10_000.0) and btc["collateral_value_usd"] == pytest.approx(9_000.0)
    assert btc["ratio"] == pytest.approx(9_000.0 / 10_000.0)
    lp = 47_000.0 / 1.17
    pos = doc["positions"][0]
    assert pos["liquidation_price"] == pytest.approx(lp, rel=1e-12)
    assert pos["distance_to_liquidation"] == pytest.approx((50_000.0 - lp) / 50_000.0, rel=1e-12)
    assert pos["collateral_co_moving"] is True
    assert pos["margin_ratio"] == pytest.approx(500.0 / 12_000.0, rel=1e-12)
    assert pos["maintenance_margin"] == pytest.approx(500.0) and pos["unrealized_pnl"] == pytest.approx(-2_000.0)


def test_binance_multi_assets_faq_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Binance FAQ "How to calculate margin in Multi-Assets Mode" (the inputs of
    tests/core/test_collateral.py::binance_faq_account): USDTUSD 0.99 with buffers 0.01 / 0.005,
    USDC 1; 200 USDT + 220 USDC: "Account Equity = 200 * 0.9801 + 220 * 1 = 416.02"; BTCUSDT 0.5 @
    20,000 (MMR 0.8 %) and ETHUSDC 20 @ 600 (1 %): "Margin Ratio = 199.596 / 416.02 = 0.47977"."""
    doc = account(
        [
            {"asset": "USDT", "amount": 200, "price": 0.99, "bid_buffer": 0.01, "ask_buffer": 0.005},
            {"asset": "USDC", "amount": 220, "price": 1, "bid_buffer": 0, "ask_buffer": 0},
        ],
        [
            {**BTC_LONG, "size": 0.5, "entry_price": 20_000, "mark_price": 20_000, "mmr": 0.008},
            {**BTC_LONG, "symbol": "ETH/USDC:USDC", "size": 20, "entry_price": 600, "mark_price": 600, "mmr": 0.01},
        ],
    )
    acc = calc_json(capsys, "--portfolio", str(write(tmp_path, doc)))["account"]
    assert acc["effective_equity"] == pytest.approx(200 * 0.99 * 0.99 + 220, rel=1e-12)
    assert acc["effective_equity"] == pytest.approx(416.02, rel=1e-12)
    assert acc["maintenance_margin"] == pytest.approx(0.5 * 20_000 * 0.008 * 0.99 * 1.005 + 20 * 600 * 0.01, rel=1e-12)
    assert acc["maintenance_margin"] == pytest.approx(199.596, rel=1e-12)
    assert acc["margin_ratio"] == pytest.approx(0.47977, abs=1e-5)
    assert [row["ratio"] for row in acc["collateral"]] == [pytest.approx(0.99), pytest.approx(1.0)]


def test_price_from_the_held_position_mark(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [TWO_ASSETS[0], {"asset": "btc", "amount": 0.2, "ratio": 0.9}]  # no price: BTC is the long's base
    acc = calc_json(capsys, "--portfolio", str(write(tmp_path, account(rows))))["account"]
    assert acc["collateral"][1]["asset"] == "BTC" and acc["collateral"][1]["price"] == 50_000.0
    assert acc["effective_equity"] == pytest.approx(12_000.0)


# ------------------------------------------------------------------------------ refusals


def test_missing_price_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [*TWO_ASSETS, {"asset": "ETH", "amount": 1, "ratio": 0.9}]
    err = refused(capsys, "--portfolio", str(write(tmp_path, account(rows))))
    assert "collateral[2].price: ETH has no price and no held position on ETH" in err


def test_no_ratio_refused_naming_the_way_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [TWO_ASSETS[0], {"asset": "BTC", "amount": 0.2, "price": 50_000}]
    err = refused(capsys, "--portfolio", str(write(tmp_path, account(rows))))
    assert "collateral[1].ratio: no ratio, tiers or bid_buffer/ask_buffer for BTC" in err
    assert "`liqwatch tiers update --exchange binance --collateral` (the binance collateral cache is empty)" in err


def test_wallet_balance_refused_with_multi_assets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(capsys, "--portfolio", str(write(tmp_path, account(TWO_ASSETS, wallet_balance=1_000))))
    assert 'wallet_balance: not with account_mode "multi_assets": the collateral list is the wallet' in err


def test_collateral_refused_in_a_single_account(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {"exchange": "binance", "collateral": TWO_ASSETS, "positions": [BTC_LONG]}
    err = refused(capsys, "--portfolio", str(write(tmp_path, doc)))
    assert 'collateral: a collateral list needs account_mode "multi_assets"' in err


def test_portfolio_mode_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {**account(TWO_ASSETS), "account_mode": "portfolio"}
    err = refused(capsys, "--portfolio", str(write(tmp_path, doc)))
    assert "account_mode: " in err and "calc computes no liquidation price" in err and "`liqwatch` (live)" in err
    err = refused(
        capsys, "--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--size", "1", "--entry", "50000",
        "--account-mode", "portfolio", "--collateral", "USDT=1000@1",
    )  # fmt: skip
    assert err.startswith("liqwatch: error: --account-mode: ") and "calc computes no liquidation price" in err


@pytest.mark.parametrize(
    ("row", "expect"),
    [
        ({"asset": "BTC", "amount": 0.2, "price": 50_000, "ratio": 1.5}, "collateral[1].ratio"),
        ({"asset": "BTC", "amount": 0.2, "price": -1, "ratio": 0.9}, "collateral[1].price"),
        ({"asset": "BTC", "amount": 0.2, "price": 1, "ratio": 0.9, "colour": 1}, "collateral[1].colour: unknown field"),
        (
            {"asset": "BTC", "amount": 0.2, "price": 1, "ratio": 0.9, "bid_buffer": 0.1},
            "collateral[1]: give exactly one",
        ),
        ({"asset": "BTC", "amount": 0.2, "price": 1, "bid_buffer": 0.1}, "collateral[1].ask_buffer: give both"),
        (
            {"asset": "BTC", "amount": 0.2, "price": 1, "tiers": [{"min": 0, "max": 1, "ratio": 0.9}]},
            "collateral[1].tiers[0].max: the last tier must have no end",
        ),
    ],
)
def test_bad_collateral_rows_name_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], row: dict[str, Any], expect: str
) -> None:
    err = refused(capsys, "--portfolio", str(write(tmp_path, account([TWO_ASSETS[0], row]))))
    assert expect in err, err


# ------------------------------------------------------------------------------ flags


FLAGS = ("--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--size", "1", "--entry", "52000",
         "--mark", "50000", "--mmr", "1%", "--maint-amount", "0", "--max-leverage", "50")  # fmt: skip


def test_collateral_flags_give_what_the_file_gives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flags = calc_json(
        capsys, *FLAGS, "--account-mode", "multi_assets",
        "--collateral", "USDT=5000@1", "--collateral-ratio", "USDT=1",
        "--collateral", "BTC=0.2", "--collateral-ratio", "BTC=90%",  # no price: the mark
    )  # fmt: skip
    file = calc_json(capsys, "--portfolio", str(write(tmp_path, account(TWO_ASSETS))))
    assert flags["account"] == file["account"]
    assert flags["positions"][0]["liquidation_price"] == pytest.approx(47_000.0 / 1.17, rel=1e-12)
    assert flags["positions"][0]["margin_mode"] == "cross"  # the default of a multi_assets account


def test_collateral_flag_refusals(capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(capsys, *FLAGS, "--margin-mode", "cross", "--wallet-balance", "1", "--collateral", "USDT=1@1")
    assert "--collateral: only with --account-mode multi_assets" in err
    err = refused(
        capsys, *FLAGS, "--account-mode", "multi_assets", "--wallet-balance", "1000", "--collateral", "USDT=1"
    )
    assert "--wallet-balance: not with --account-mode multi_assets" in err
    err = refused(capsys, *FLAGS, "--account-mode", "multi_assets", "--collateral", "USDT:5000")
    assert "--collateral: 'USDT:5000' is not ASSET=AMOUNT[@PRICE]" in err
    err = refused(capsys, *FLAGS, "--account-mode", "multi_assets", "--collateral", "USDT=5000@1")
    assert "--collateral-ratio: no ratio, tiers or bid_buffer/ask_buffer for USDT" in err
    err = refused(
        capsys, *FLAGS, "--account-mode", "multi_assets", "--collateral", "ETH=5", "--collateral-ratio", "ETH=1"
    )
    assert "--collateral: ETH has no price and no held position on ETH" in err


# ------------------------------------------------------------------------------ what-if


@pytest.mark.parametrize("pct", ["-10", "-10%"])
def test_collateral_shock(tmp_path: Path, capsys: pytest.CaptureFixture[str], pct: str) -> None:
    """BTC -10 %: the collateral's price moves (a depeg), the mark does not: BTC counts
    0.2 x 45,000 x 0.9 = 8,100; effective equity 3,000 + 8,100 = 11,100; liquidation
    5,000 + (P - 52,000) + 0.2 x 0.9 x 0.9 P = 0.01 P  =>  P = 47,000 / 1.152."""
    path = write(tmp_path, account(TWO_ASSETS))
    doc = calc_json(capsys, "--portfolio", str(path), "--collateral-shock", f"BTC={pct}")
    assert doc["account"]["effective_equity"] == pytest.approx(12_000.0)  # the account now
    after = doc["what_if"]["after"]
    assert doc["what_if"]["collateral_shock"] == {"BTC": -10.0}
    assert after["account"]["collateral"][1]["price"] == pytest.approx(45_000.0)
    assert after["account"]["effective_equity"] == pytest.approx(11_100.0, rel=1e-12)
    assert after["positions"][0]["mark_price"] == 50_000.0
    assert after["positions"][0]["liquidation_price"] == pytest.approx(47_000.0 / 1.152, rel=1e-12)
    err = refused(capsys, "--portfolio", str(path), "--collateral-shock", "ETH=-10")
    assert "--collateral-shock: ETH is not in the collateral list (held: USDT, BTC)" in err
    err = refused(capsys, "--portfolio", str(EXAMPLE), "--collateral-shock", "BTC=-10")
    assert "--collateral-shock: only for a multi-collateral account" in err


def test_shock_moves_co_moving_collateral(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--shock -10: the BTC mark and the BTC collateral both move to 45,000. USDT equity
    5,000 + (45,000 - 52,000) = -2,000 (a liability at ratio 1); BTC 0.2 x 45,000 x 0.9 = 8,100;
    effective equity 6,100; MM 450. The account liquidates at the move where
    3,000 + 0.2 x 0.9 x 50,000 (1 + m) + 50,000 m = 0.01 x 50,000 (1 + m): m = -11,500 / 58,500."""
    doc = calc_json(
        capsys, "--portfolio", str(write(tmp_path, account(TWO_ASSETS))), "--shock", "-10", "--shock", "-30"
    )
    what = doc["what_if"]
    minus10 = next(step for step in what["steps"] if step["move"] == pytest.approx(-0.1))
    assert minus10["account"]["collateral"][1]["price"] == pytest.approx(45_000.0)
    assert minus10["account"]["effective_equity"] == pytest.approx(6_100.0, rel=1e-12)
    assert minus10["account"]["maintenance_margin"] == pytest.approx(450.0, rel=1e-12)
    assert minus10["positions"][0]["mark_price"] == pytest.approx(45_000.0)
    m = -11_500.0 / 58_500.0  # -19.7 %: -30 % is past it
    assert what["order"] == [{"move": pytest.approx(m, abs=1e-9), "positions": [0], "symbols": ["BTC/USDT:USDT"],
                              "scope": "cross account"}]  # fmt: skip
    minus30 = next(step for step in what["steps"] if step["move"] == pytest.approx(-0.3))
    assert minus30 == {"move": pytest.approx(-0.3), "account": None, "liquidated": [0], "positions": []}
    # the liquidation price of the plain run is the same point
    assert doc["positions"][0]["liquidation_price"] == pytest.approx(50_000.0 * (1 + m), rel=1e-9)


def test_ladder_and_target_solvers_move_co_moving_collateral(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--ladder: the collateral solve's liquidation price, 47,000 / 1.17, no bankruptcy price.
    --target-margin-ratio 50 %: effective equity = MM / 0.5 with the BTC collateral moving with the
    mark: 5,000 + (P - 52,000) + 0.18 P = 0.02 P  =>  P = 47,000 / 1.16; the common move is the same
    (one position)."""
    path = str(write(tmp_path, account(TWO_ASSETS)))
    rung = calc_json(capsys, "--portfolio", path, "--ladder")["what_if"]["ladder"][0]
    assert rung["liquidation_price"] == pytest.approx(47_000.0 / 1.17, rel=1e-12)
    assert rung["bankruptcy_price"] is None and rung["distance_to_bankruptcy"] is None
    what = calc_json(capsys, "--portfolio", path, "--target-margin-ratio", "50%")["what_if"]
    assert what["scenario"] == "target_margin_ratio"
    target = what["targets"][0]
    assert target["target_mark"] == pytest.approx(47_000.0 / 1.16, rel=1e-12)
    assert what["account_move_down"] == pytest.approx(47_000.0 / 1.16 / 50_000.0 - 1.0, abs=1e-9)
    assert what["account_move_up"] is None


def test_other_what_ifs_refused_for_multi_assets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(capsys, "--portfolio", str(write(tmp_path, account(TWO_ASSETS))), "--funding-periods", "2")
    assert "--funding-periods: the funding drift of a multi_assets account is not computed yet" in err


# ------------------------------------------------------------------------------ files and single mode


def test_toml_and_json_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = tmp_path / "p.toml"
    toml.write_text(
        'exchange = "binance"\naccount_mode = "multi_assets"\n\n'
        '[[collateral]]\nasset = "USDT"\namount = 5000\nprice = 1\nratio = 1\n\n'
        '[[collateral]]\nasset = "BTC"\namount = 0.2\nprice = 50000\n'
        'tiers = [{min = 0, max = 0.1, ratio = 0.9}, {min = 0.1, ratio = 0.8}]\ntier_basis = "quantity"\n\n'
        '[[positions]]\nsymbol = "BTC/USDT:USDT"\nside = "long"\nsize = 1\nentry_price = 52000\nmark_price = 50000\n'
        'margin_mode = "cross"\nmmr = 0.01\nmaint_amount = 0\nmax_leverage = 50\n'
    )
    rows = [
        TWO_ASSETS[0],
        {"asset": "BTC", "amount": 0.2, "price": 50_000, "tier_basis": "quantity",
         "tiers": [{"min": 0, "max": 0.1, "ratio": 0.9}, {"min": 0.1, "max": None, "ratio": 0.8}]},
    ]  # fmt: skip
    from_toml = calc_json(capsys, "--portfolio", str(toml))
    from_json = calc_json(capsys, "--portfolio", str(write(tmp_path, account(rows))))
    assert from_toml == from_json
    # 0.1 BTC at 0.9 and 0.1 at 0.8: 0.17 x 50,000 = 8,500
    assert from_json["account"]["collateral"][1]["collateral_value_usd"] == pytest.approx(8_500.0, rel=1e-12)


@pytest.mark.parametrize(
    ("argv", "golden"),
    [
        (["--portfolio", str(EXAMPLE)], "example_main.json"),
        (["--portfolio", str(FIXTURES / "single_pools.json")], "single_pools_main.json"),
        (["--portfolio", str(EXAMPLE), "--shock", "-10", "--shock", "5"], "example_shock_main.json"),
        (
            ["--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--size", "1", "--entry", "60000",
             "--mark", "59000", "--margin-mode", "cross", "--wallet-balance", "5000"],
            "flags_main.json",
        ),
    ],
)  # fmt: skip
def test_single_accounts_byte_identical_to_before(
    capsys: pytest.CaptureFixture[str], argv: list[str], golden: str
) -> None:
    """``calc --json`` of single accounts as main wrote it before multi-collateral accounts
    (tests/fixtures/collateral_calc/*_main.json, captured from main before the change)."""
    assert main(["calc", *argv, "--json", "--offline"]) == 0
    assert capsys.readouterr().out == (FIXTURES / golden).read_text()


def test_human_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "--portfolio", str(write(tmp_path, account(TWO_ASSETS))), "--offline"]) == 0
    out = capsys.readouterr().out
    assert "Account (multi_assets): effective equity $12,000.00 · haircut $1,000.00" in " ".join(out.split())
    assert "Collateral value" in out and "$9,000.00" in out
    assert "Bankruptcy price" in out and "no venue defines" in out  # the row may wrap


def test_funding_checked_and_said_not_computed(capsys: pytest.CaptureFixture[str]) -> None:
    multi = (*FLAGS, "--account-mode", "multi_assets", "--collateral", "USDT=5000@1", "--collateral-ratio", "USDT=1")
    err = refused(capsys, *multi, "--next-funding-time", "soon")
    assert err.startswith("liqwatch: error: --next-funding-time: ")
    doc = calc_json(capsys, *multi, "--funding-rate", "0.01%")
    assert doc["positions"][0]["funding"] is None
    assert (
        doc["positions"][0]["funding_unavailable"]
        == "the funding drift of a multi-collateral account is not computed yet"
    )
