"""`liqwatch calc` for coin-margined (inverse) perpetuals (issue #12, section "calc").

Every venue that lists them (Binance COIN-M, Bybit inverse, OKX coin-margined, Bitget coin-M, Gate
BTC-settled), through flags and portfolio files, human and ``--json``: symbols in ccxt form or as
venue ids, ``--size`` in USD face value or ``--contracts``, margin and wallets in the settle coin,
per-currency collateral pools, the what-if scenarios, and every bad input as one line with exit 2.

Expected numbers come from the venues' published examples (docs/venues/inverse.md: Binance's
100 contracts at 25,000 = 0.4 BTC notional and 0.0016 BTC maintenance margin, the 300 BTC bracket
with MMR 12.5% and maintenance amount 11.605 BTC; Bybit's 12,000 contracts @ 8,000 at 50x = 0.03 BTC
initial margin and 60,000 USD @ 50,000 at 10x = PV 1.2 / IM 0.12 / MM 0.006 BTC) or from the published
formulas evaluated here on the inputs (the common inverse form of inverse.md 1.0 and Gate's own
``Size x EP x (1 +/- MMR +/- taker) / (Size +/- Margin x EP)``), and from the property that the
margin ratio is 100% at the liquidation price.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqwatch import tiercache
from liqwatch.tiers_update import Retry, download_venue, save
from tests.fakes.calc_run import run_error, run_json, run_text
from tests.fakes.rest_server import FakeRestServer

INVERSE = "BTC/USD:BTC"
NATIVE = {"binance": "BTCUSD_PERP", "bybit": "BTCUSD", "okx": "BTC-USD-SWAP", "gate": "BTC_USD", "bitget": "BTCUSD"}
FIVE = list(NATIVE)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIQWATCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "200")


# ----------------------------------------------------------------------------- helpers


def write(tmp_path: Path, doc: dict[str, Any], name: str = "p.json") -> Path:
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(doc))
    else:
        path.write_text(doc["__toml__"])
    return path


async def _instant(_delay: float) -> None:
    return None


def download_inverse(venue: str) -> dict[str, Any]:
    """``liqwatch tiers update`` against the venue's fake server with its coin-margined BTC market;
    returns the cached entry of BTC/USD:BTC."""

    async def run() -> None:
        async with FakeRestServer(venue) as fake:
            fake.add_inverse()
            result = await download_venue(
                venue, rest_url=fake.url, retry=Retry(attempts=3, sleep=_instant), symbols=[INVERSE]
            )
            assert not result.failures, result.failures
            save(result)

    asyncio.run(run())
    data = tiercache.read_cache(venue)
    assert data is not None
    entry: dict[str, Any] = data["symbols"][INVERSE]
    return entry


BYBIT_INVERSE_TIERS = [  # a cached Bybit inverse risk-limit table: bounds in BTC, deduction in BTC
    {"min": 0, "max": 150, "mmr": 0.005, "max_leverage": 100, "maint_amount": 0},
    {"min": 150, "max": 300, "mmr": 0.01, "max_leverage": 50, "maint_amount": 0.75},
]


def cache_bybit_inverse() -> None:
    tiercache.write_cache(
        "bybit",
        {
            INVERSE: {
                "id": "BTCUSD",
                "contract_size": 1.0,
                "inverse": True,
                "linear": False,
                "settle": "BTC",
                "tier_unit": "as published by the venue",
                "tiers": BYBIT_INVERSE_TIERS,
                "fetched_at": "2026-11-30T08:00:00Z",
                "source_url": "https://api.bybit.com/v5/market/risk-limit",
            }
        },
        header={"basis": "notional", "boundary": "cap_inclusive", "complete": True},
    )


def inverse_lp(side: str, q: float, ep: float, margin: float, mmr: float, fee: float = 0.0, cum: float = 0.0) -> float:
    """docs/venues/inverse.md 1.0: LP = Q (s + MMR + f) / (M + cum + s Q / EP)."""
    s = 1.0 if side == "long" else -1.0
    return q * (s + mmr + fee) / (margin + cum + s * q / ep)


def gate_lp(side: str, size: float, ep: float, margin: float, mmr: float, taker: float) -> float:
    """Gate help 27724: LP = Size x EP x (1 +/- MMR +/- taker) / (Size +/- Margin x EP), + long."""
    s = 1.0 if side == "long" else -1.0
    return size * ep * (1 + s * mmr + s * taker) / (size + s * margin * ep)


def ratio_at(capsys: pytest.CaptureFixture[str], args: list[str], mark: float) -> float:
    """The margin ratio ``calc`` reports with the mark moved to ``mark``."""
    doc = run_json(capsys, *args, "--mark", repr(mark))
    ratio: float = doc["positions"][0]["margin_ratio"]
    return ratio


# ----------------------------------------------------------------------------- symbols


@pytest.mark.parametrize("venue", FIVE)
@pytest.mark.parametrize("form", ["unified", "native"])
def test_inverse_symbols_resolve_on_every_venue(capsys: pytest.CaptureFixture[str], venue: str, form: str) -> None:
    symbol = INVERSE if form == "unified" else NATIVE[venue]
    doc = run_json(
        capsys, "--exchange", venue, "--symbol", symbol, "--side", "long", "--size", "10000", "--entry", "50000",
        "--leverage", "10", "--mmr", "0.005",
    )  # fmt: skip
    (pos,) = doc["positions"]
    assert pos["symbol"] == INVERSE and pos["inverse"] is True and pos["settle"] == "BTC"
    assert pos["size"] == 10000 and pos["notional_usd"] == 10000
    assert pos["notional"] == pytest.approx(10000 / 50000)  # value in coin Q / P
    assert pos["isolated_margin"] == pytest.approx(10000 / (50000 * 10))  # Q / (EP x lev) in BTC
    assert doc["account"]["settle"] == "BTC" and [p["settle"] for p in doc["account"]["pools"]] == ["BTC"]


def test_hyperliquid_lists_no_inverse_markets(capsys: pytest.CaptureFixture[str]) -> None:
    line = run_error(
        capsys, "--exchange", "hyperliquid", "--symbol", INVERSE, "--side", "long", "--size", "100", "--entry", "50000",
        "--leverage", "5", "--mmr", "0.01",
    )  # fmt: skip
    assert line.startswith("liqwatch: error: --symbol:") and "no coin-margined (inverse) markets" in line


@pytest.mark.parametrize("symbol", ["ETH/USD:BTC", "BTC/USDT:BTC"])
def test_quanto_symbols_are_refused(capsys: pytest.CaptureFixture[str], symbol: str) -> None:
    line = run_error(
        capsys, "--exchange", "binance", "--symbol", symbol, "--side", "long", "--size", "1", "--entry", "50000",
        "--leverage", "5", "--mmr", "0.01",
    )  # fmt: skip
    assert line.startswith("liqwatch: error: --symbol:") and "settled in BTC" in line


@pytest.mark.parametrize("venue", ["okx", "gate", "bybit", "bitget"])
def test_no_table_refuses_with_the_way_out(capsys: pytest.CaptureFixture[str], venue: str) -> None:
    line = run_error(
        capsys, "--exchange", venue, "--symbol", NATIVE[venue], "--side", "long", "--size", "1000", "--entry", "50000",
        "--leverage", "5",
    )  # fmt: skip
    assert line.startswith("liqwatch: error: --symbol:") and "coin-margined" in line, line
    assert "mmr" in line and "tiers table (bounds in BTC)" in line
    if venue != "bitget":
        assert f"liqwatch tiers update --exchange {venue} --symbol {INVERSE}" in line


def test_binance_other_coins_have_no_bundled_table(capsys: pytest.CaptureFixture[str]) -> None:
    line = run_error(
        capsys, "--exchange", "binance", "--symbol", "ETHUSD_PERP", "--side", "long", "--contracts", "10",
        "--entry", "3000", "--leverage", "5",
    )  # fmt: skip
    assert "ETH/USD:ETH" in line and "bounds in ETH" in line and "tiers update" not in line


# ----------------------------------------------------------------------------- Binance COIN-M


BINANCE = ["--exchange", "binance", "--symbol", "BTCUSD_PERP"]


def test_binance_published_maintenance_margin(capsys: pytest.CaptureFixture[str]) -> None:
    """Binance FAQ: 100 contracts at mark 25,000 -> notional 0.4 BTC (level 1), MM 0.4 x 0.4% = 0.0016 BTC."""
    doc = run_json(capsys, *BINANCE, "--side", "long", "--contracts", "100", "--entry", "25000", "--leverage", "10")
    (pos,) = doc["positions"]
    assert pos["contract_size"] == 100 and pos["contracts"] == 100 and pos["size"] == 10000
    assert pos["notional"] == pytest.approx(0.4) and pos["notional_usd"] == 10000
    assert pos["tier"] == 1 and pos["mmr"] == pytest.approx(0.004)
    assert pos["maintenance_margin"] == pytest.approx(0.0016)
    assert pos["tiers_source"] == "bundled"
    margin = 10000 / (25000 * 10)
    assert pos["isolated_margin"] == pytest.approx(margin)
    assert pos["liquidation_price"] == pytest.approx(inverse_lp("long", 10000, 25000, margin, 0.004), rel=1e-9)
    assert pos["bankruptcy_price"] == pytest.approx(inverse_lp("long", 10000, 25000, margin, 0.0), rel=1e-9)


def test_binance_published_maintenance_amount(capsys: pytest.CaptureFixture[str]) -> None:
    """Binance FAQ (newer page): a 300 BTC position has MMR 12.5% and maintenance amount 11.605 BTC."""
    contracts = 300 * 25000 / 100  # 300 BTC notional at 25,000
    doc = run_json(
        capsys, *BINANCE, "--side", "long", "--contracts", f"{contracts:g}", "--entry", "25000", "--leverage", "2",
    )  # fmt: skip
    (pos,) = doc["positions"]
    assert pos["notional"] == pytest.approx(300)
    assert pos["mmr"] == pytest.approx(0.125) and pos["maint_amount"] == pytest.approx(11.605)
    assert pos["maintenance_margin"] == pytest.approx(300 * 0.125 - 11.605)


def test_binance_one_x_short_has_no_liquidation_price(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, *BINANCE, "--side", "short", "--contracts", "100", "--entry", "25000", "--leverage", "1")
    (pos,) = doc["positions"]
    assert pos["liquidation_price"] is None and pos["bankruptcy_price"] is None
    text = run_text(capsys, *BINANCE, "--side", "short", "--contracts", "100", "--entry", "25000", "--leverage", "1")
    assert "Liquidation price" in text and "—" in text


def test_binance_cross_with_the_btc_wallet(capsys: pytest.CaptureFixture[str]) -> None:
    args = [*BINANCE, "--side", "long", "--contracts", "100", "--entry", "25000", "--margin-mode", "cross"]
    doc = run_json(capsys, *args, "--wallet-balance", "0.05")
    (pos,) = doc["positions"]
    # cross alone: the wallet is the margin (no other position in the BTC pool)
    assert pos["liquidation_price"] == pytest.approx(inverse_lp("long", 10000, 25000, 0.05, 0.004), rel=1e-9)
    account = doc["account"]
    assert account["settle"] == "BTC" and account["wallet_balance"] == pytest.approx(0.05)
    assert account["cross_wallet_balance"] == pytest.approx(0.05)


def test_binance_human_labels_every_amount(capsys: pytest.CaptureFixture[str]) -> None:
    text = run_text(capsys, *BINANCE, "--side", "long", "--contracts", "100", "--entry", "25000", "--leverage", "10")
    assert "10,000 USD (100 contracts)" in text
    assert "0.0016 BTC" in text  # maintenance margin
    assert "0.04 BTC" in text  # margin balance / initial margin
    assert "0.4 BTC (10,000.00 USD face)" in text
    assert "Account: wallet 0.04 BTC" in text
    assert "COIN-M" in text


# ----------------------------------------------------------------------------- Bybit inverse


BYBIT = ["--exchange", "bybit", "--symbol", "BTCUSD"]


def test_bybit_published_initial_margin(capsys: pytest.CaptureFixture[str]) -> None:
    """Bybit: IM = Qty / (Price x Leverage); 12,000 contracts @ 8,000 at 50x -> 0.03 BTC."""
    doc = run_json(capsys, *BYBIT, "--side", "long", "--contracts", "12000", "--entry", "8000", "--leverage", "50",
                   "--mmr", "0.005")  # fmt: skip
    (pos,) = doc["positions"]
    assert pos["contract_size"] == 1 and pos["size"] == 12000
    assert pos["isolated_margin"] == pytest.approx(0.03) and pos["initial_margin"] == pytest.approx(0.03)


def test_bybit_uta_example_from_the_cached_table(capsys: pytest.CaptureFixture[str]) -> None:
    """Bybit UTA isolated: 60,000 USD BTCUSD long @ 50,000, 10x, MMR 0.5% -> PV 1.2, IM 0.12, MM 0.006 BTC."""
    cache_bybit_inverse()
    doc = run_json(capsys, *BYBIT, "--side", "long", "--size", "60000", "--entry", "50000", "--leverage", "10")
    (pos,) = doc["positions"]
    assert pos["tiers_source"] == "cache" and pos["tier"] == 1 and pos["mmr"] == pytest.approx(0.005)
    assert pos["notional"] == pytest.approx(1.2) and pos["isolated_margin"] == pytest.approx(0.12)
    assert pos["maintenance_margin"] == pytest.approx(0.006)
    assert pos["liquidation_price"] == pytest.approx(inverse_lp("long", 60000, 50000, 0.12, 0.005), rel=1e-9)


def test_bybit_second_tier_by_coin_value(capsys: pytest.CaptureFixture[str]) -> None:
    """Cached bounds are in BTC: 10,000,000 USD at 50,000 is 200 BTC, the second bracket."""
    cache_bybit_inverse()
    doc = run_json(capsys, *BYBIT, "--side", "short", "--size", "10000000", "--entry", "50000", "--leverage", "20")
    (pos,) = doc["positions"]
    assert pos["tier"] == 2 and pos["maint_amount"] == pytest.approx(0.75)
    assert pos["maintenance_margin"] == pytest.approx(200 * 0.01 - 0.75)


# ----------------------------------------------------------------------------- OKX coin-margined


def test_okx_cached_table_in_contracts(capsys: pytest.CaptureFixture[str]) -> None:
    entry = download_inverse("okx")
    assert entry["contract_size"] == 100
    first = entry["tiers"][0]
    contracts = float(first["max"]) + 1  # one contract past the first bracket (cap-inclusive)
    args = ["--exchange", "okx", "--symbol", "BTC-USD-SWAP", "--side", "long", "--entry", "50000", "--leverage", "5"]
    doc = run_json(capsys, *args, "--contracts", f"{contracts:g}")
    (pos,) = doc["positions"]
    assert pos["tiers_source"] == "cache" and pos["tier"] == 2
    assert pos["size"] == pytest.approx(contracts * 100) and pos["contracts"] == contracts
    mmr = entry["tiers"][1]["mmr"]
    q = contracts * 100
    margin = q / (50000 * 5)
    fee = pos["fee_rate"]
    assert fee > 0  # OKX counts the taker fee in the trigger
    assert pos["liquidation_price"] == pytest.approx(inverse_lp("long", q, 50000, margin, mmr, fee), rel=1e-9)
    below = run_json(capsys, *args, "--contracts", f"{float(first['max']):g}")
    assert below["positions"][0]["tier"] == 1


# ----------------------------------------------------------------------------- Gate BTC-settled


def test_gate_cached_table_and_its_own_formula(capsys: pytest.CaptureFixture[str]) -> None:
    entry = download_inverse("gate")
    assert entry["contract_size"] == 1  # quanto_multiplier 0 -> 1 USD
    args = ["--exchange", "gate", "--symbol", "BTC_USD", "--entry", "50000", "--leverage", "10"]
    for side in ("long", "short"):
        doc = run_json(capsys, *args, "--side", side, "--contracts", "20000")
        (pos,) = doc["positions"]
        assert pos["tiers_source"] == "cache" and pos["size"] == 20000
        mmr, taker, margin = pos["mmr"], pos["fee_rate"], 20000 / (50000 * 10)
        assert pos["liquidation_price"] == pytest.approx(gate_lp(side, 20000, 50000, margin, mmr, taker), rel=1e-9)


# ----------------------------------------------------------------------------- Bitget coin-M


def test_bitget_needs_its_contract_size(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--exchange", "bitget", "--symbol", "BTCUSD", "--side", "long", "--entry", "50000", "--leverage", "10"]
    line = run_error(capsys, *args, "--contracts", "100", "--mmr", "0.005")
    assert line.startswith("liqwatch: error: --contract-size:") and "USD per contract" in line
    doc = run_json(capsys, *args, "--contracts", "100", "--contract-size", "10", "--mmr", "0.005")
    (pos,) = doc["positions"]
    assert pos["size"] == 1000 and pos["contract_size"] == 10 and pos["contracts"] == 100


def test_bitget_cached_table_unit_is_not_trusted(capsys: pytest.CaptureFixture[str]) -> None:
    download_inverse("bitget")
    args = ["--exchange", "bitget", "--symbol", "BTCUSD", "--side", "long", "--size", "1000", "--entry", "50000"]
    line = run_error(capsys, *args, "--leverage", "10")
    assert line.startswith("liqwatch: error: --symbol:") and "not verified" in line and "mmr" in line


@pytest.mark.parametrize("venue", FIVE)
@pytest.mark.parametrize("side", ["long", "short"])
def test_margin_ratio_is_one_at_the_liquidation_price(
    capsys: pytest.CaptureFixture[str], venue: str, side: str
) -> None:
    args = [
        "--exchange", venue, "--symbol", NATIVE[venue], "--side", side, "--size", "50000", "--entry", "40000",
        "--leverage", "20", "--mmr", "0.005",
    ]  # fmt: skip
    doc = run_json(capsys, *args)
    lp = doc["positions"][0]["liquidation_price"]
    bp = doc["positions"][0]["bankruptcy_price"]
    assert lp is not None and bp is not None
    assert (lp > bp) if side == "long" else (lp < bp)  # liquidation before bankruptcy
    assert ratio_at(capsys, args, lp) == pytest.approx(1.0, rel=1e-6)


# ----------------------------------------------------------------------------- size and contracts


def test_contracts_equal_their_size(capsys: pytest.CaptureFixture[str]) -> None:
    common = [*BINANCE, "--side", "short", "--entry", "30000", "--leverage", "25", "--mark", "30500"]
    by_contracts = run_json(capsys, *common, "--contracts", "250")["positions"][0]
    by_size = run_json(capsys, *common, "--size", "25000")["positions"][0]
    assert by_contracts == by_size
    overridden = run_json(capsys, *common, "--contracts", "250", "--contract-size", "10")["positions"][0]
    assert overridden["size"] == 2500 and overridden["contract_size"] == 10


def test_contracts_on_a_linear_market(capsys: pytest.CaptureFixture[str]) -> None:
    """OKX BTC-USDT-SWAP: ctVal 0.01 BTC (bundled): 50 contracts = 0.5 BTC."""
    common = [
        "--exchange",
        "okx",
        "--symbol",
        "BTC-USDT-SWAP",
        "--side",
        "long",
        "--entry",
        "60000",
        "--leverage",
        "10",
    ]
    by_contracts = run_json(capsys, *common, "--contracts", "50")["positions"][0]
    by_size = run_json(capsys, *common, "--size", "0.5")["positions"][0]
    assert by_contracts["size"] == pytest.approx(0.5) and by_contracts["inverse"] is False
    assert by_contracts["settle"] == "USDT" and by_contracts["notional_usd"] == pytest.approx(30000)
    assert by_size["contracts"] == pytest.approx(50) and by_size["contract_size"] == 0.01
    assert by_contracts["liquidation_price"] == pytest.approx(by_size["liquidation_price"], rel=1e-12)


# ----------------------------------------------------------------------------- portfolios


MIXED = {
    "exchange": "binance",
    "wallet_balance": {"USDT": 25000, "BTC": 0.5},
    "positions": [
        {"symbol": "BTC/USDT:USDT", "side": "long", "size": 2, "entry_price": 60000, "margin_mode": "cross"},
        {"symbol": "BTCUSD_PERP", "side": "short", "contracts": 500, "entry_price": 60000, "margin_mode": "cross"},
        {"symbol": "ETH/USDT:USDT", "side": "long", "size": 20, "entry_price": 3000, "leverage": 10},
    ],
}


def test_mixed_portfolio_has_two_pools(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "--portfolio", str(write(tmp_path, MIXED)))
    linear, short, iso = doc["positions"]
    assert (linear["settle"], linear["inverse"]) == ("USDT", False)
    assert (short["settle"], short["inverse"], short["contracts"], short["size"]) == ("BTC", True, 500, 50000)
    assert (iso["settle"], iso["isolated_margin"]) == ("USDT", pytest.approx(20 * 3000 / 10))
    account = doc["account"]
    assert account["settle"] == "USDT"  # the default pool keeps the account keys
    assert [p["settle"] for p in account["pools"]] == ["USDT", "BTC"]
    usdt, btc = account["pools"]
    assert {k: v for k, v in usdt.items() if k != "settle"} == {
        k: v for k, v in account.items() if k not in ("settle", "pools")
    }
    assert usdt["cross_wallet_balance"] == pytest.approx(25000) and btc["cross_wallet_balance"] == pytest.approx(0.5)
    assert btc["wallet_balance"] == pytest.approx(0.5)
    assert usdt["wallet_balance"] == pytest.approx(25000 + iso["isolated_margin"])
    # pools are independent: the BTC short alone on its 0.5 BTC has the same liquidation price
    alone = {**MIXED, "wallet_balance": {"BTC": 0.5}, "positions": [MIXED["positions"][1]]}
    single = run_json(capsys, "--portfolio", str(write(tmp_path, alone, "alone.json")))
    assert single["positions"][0]["liquidation_price"] == pytest.approx(short["liquidation_price"], rel=1e-12)
    assert short["liquidation_price"] == pytest.approx(inverse_lp("short", 50000, 60000, 0.5, 0.004), rel=1e-9)


def test_mixed_portfolio_toml_and_human(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = """
exchange = "binance"
wallet_balance = {USDT = 25000, BTC = 0.5}

[[positions]]
symbol = "BTCUSDT"
side = "long"
size = 2
entry_price = 60000
margin_mode = "cross"

[[positions]]
symbol = "BTCUSD_PERP"
side = "short"
contracts = 500
entry_price = 60000
margin_mode = "cross"
"""
    path = write(tmp_path, {"__toml__": toml}, "p.toml")
    doc = run_json(capsys, "--portfolio", str(path))
    assert [p["settle"] for p in doc["account"]["pools"]] == ["USDT", "BTC"]
    text = run_text(capsys, "--portfolio", str(path))
    assert "USDT pool: wallet 25,000.00 USDT" in text and "BTC pool: wallet 0.5 BTC" in text
    assert "50,000 USD (500 contracts)" in text and "2 BTC" in text


def test_one_number_is_the_only_settle_currency(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {
        "exchange": "okx",
        "wallet_balance": 0.8,
        "positions": [
            {"symbol": "BTC-USD-SWAP", "side": "long", "contracts": 300, "entry_price": 50000, "margin_mode": "cross",
             "mmr": 0.004},
        ],
    }  # fmt: skip
    out = run_json(capsys, "--portfolio", str(write(tmp_path, doc)))
    assert out["account"]["settle"] == "BTC" and out["account"]["cross_wallet_balance"] == pytest.approx(0.8)


@pytest.mark.parametrize("venue", FIVE)
def test_portfolio_on_every_venue(tmp_path: Path, capsys: pytest.CaptureFixture[str], venue: str) -> None:
    """One inverse position by contracts (a contract size given where none is bundled) and one
    linear position, cross in their own pools, human and JSON."""
    inverse: dict[str, Any] = {
        "symbol": NATIVE[venue], "side": "long", "contracts": 200, "entry_price": 50000, "margin_mode": "cross",
        "mmr": 0.005,
    }  # fmt: skip
    if venue == "bitget":
        inverse["contract_size"] = 10
    linear = {"symbol": "ETH/USDT:USDT", "side": "short", "size": 3, "entry_price": 3000, "leverage": 10,
              "mmr": 0.01}  # fmt: skip
    doc = {"exchange": venue, "wallet_balance": {"BTC": 0.5, "USDT": 1000}, "positions": [inverse, linear]}
    path = write(tmp_path, doc)
    out = run_json(capsys, "--portfolio", str(path))
    inv, lin = out["positions"]
    size = 200 * inv["contract_size"]
    assert inv["inverse"] is True and inv["size"] == pytest.approx(size) and inv["settle"] == "BTC"
    assert lin["inverse"] is False and lin["settle"] == "USDT"
    pools = {p["settle"]: p for p in out["account"]["pools"]}
    assert set(pools) == {"USDT", "BTC"} and pools["BTC"]["cross_wallet_balance"] == pytest.approx(0.5)
    assert inv["liquidation_price"] == pytest.approx(
        inverse_lp("long", size, 50000, 0.5, 0.005, inv["fee_rate"]), rel=1e-9
    )
    text = run_text(capsys, "--portfolio", str(path))
    assert "BTC pool:" in text and "USDT pool:" in text and f"{size:,.10g} USD (200 contracts)" in text


def test_tiers_file_for_an_inverse_symbol(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--tiers FILE: a coin-margined market's bounds are in its coin (10,000 USD at 50,000 = 0.2 BTC)."""
    tiers = tmp_path / "t.json"
    rows = [
        {"min_notional": 0, "max_notional": 0.1, "mmr": 0.004, "max_leverage": 100},
        {"min_notional": 0.1, "max_notional": 1, "mmr": 0.01, "max_leverage": 50},
    ]
    tiers.write_text(json.dumps({"tiers": {"BTC-USD-SWAP": rows}}))
    args = ["--exchange", "okx", "--symbol", INVERSE, "--side", "long", "--size", "10000", "--entry", "50000"]
    doc = run_json(capsys, *args, "--leverage", "10", "--tiers", str(tiers))
    (pos,) = doc["positions"]
    assert pos["tiers_source"] == "file" and pos["tier"] == 2 and pos["mmr"] == pytest.approx(0.01)
    assert pos["maintenance_margin"] == pytest.approx(0.2 * 0.01)


def test_large_portfolio_file_reads_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A JSON file over 64 KB takes the fast reader: contracts and the wallet table come through."""
    from liqwatch.portfolio import FAST_JSON_BYTES

    positions = [
        {**MIXED["positions"][1], "symbol": f"C{i}USD_PERP", "margin_mode": "isolated", "leverage": 5, "tiers": [
            {"min_notional": 0, "max_notional": 1000, "mmr": 0.005, "max_leverage": 50}]}
        for i in range(400)
    ]  # fmt: skip
    doc = {**MIXED, "positions": [*MIXED["positions"], *positions]}
    path = write(tmp_path, doc, "big.json")
    assert path.stat().st_size > FAST_JSON_BYTES
    big = run_json(capsys, "--portfolio", str(path))
    small = run_json(capsys, "--portfolio", str(write(tmp_path, MIXED)))
    assert big["positions"][:3] == small["positions"]
    assert [p["settle"] for p in big["account"]["pools"]][:2] == ["USDT", "BTC"]
    assert big["positions"][3]["contracts"] == 500 and big["positions"][3]["size"] == 5000  # 10 USD a contract


# ----------------------------------------------------------------------------- what-if


WHATIF = [*BINANCE, "--side", "long", "--contracts", "100", "--entry", "25000", "--leverage", "10"]


def test_add_size_is_usd_face(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, *WHATIF, "--add-size", "5000")
    what = doc["what_if"]
    before, after = what["before"]["positions"][0], what["after"]["positions"][0]
    assert after["size"] == pytest.approx(before["size"] + 5000)
    assert (before["contracts"], after["contracts"]) == (100, pytest.approx(150))  # 100 USD a contract
    assert after["notional"] == pytest.approx(15000 / 25000)
    text = run_text(capsys, *WHATIF, "--add-size", "5000")
    assert "Add 5,000 USD (50 contracts)" in text and "15,000 USD (150 contracts)" in text


def test_add_margin_is_in_the_coin(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, *WHATIF, "--add-margin", "0.01")
    before, after = (doc["what_if"][k]["positions"][0] for k in ("before", "after"))
    assert after["isolated_margin"] == pytest.approx(before["isolated_margin"] + 0.01)
    assert after["liquidation_price"] == pytest.approx(inverse_lp("long", 10000, 25000, 0.05, 0.004), rel=1e-9)
    assert "Margin added: 0.01 BTC" in run_text(capsys, *WHATIF, "--add-margin", "0.01")


def test_shock_target_and_ladder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, MIXED)
    shock = run_json(capsys, "--portfolio", str(path), "--shock", "-30:30:10")["what_if"]
    assert len(shock["steps"]) == 7
    assert all({p["settle"] for p in step["account"]["pools"]} <= {"USDT", "BTC"} for step in shock["steps"])
    text = run_text(capsys, "--portfolio", str(path), "--shock", "-10")
    assert "BTC balance" in text and "USDT balance" in text
    target = run_json(capsys, *WHATIF, "--target-margin-ratio", "0.5")["what_if"]
    (t,) = target["targets"]
    assert t["target_mark"] is not None
    assert ratio_at(capsys, WHATIF, t["target_mark"]) == pytest.approx(0.5, rel=1e-6)
    ladder = run_json(capsys, "--portfolio", str(path), "--ladder")["what_if"]["ladder"]
    assert {r["symbol"] for r in ladder} >= {INVERSE}


def test_portfolio_what_if_names_the_inverse_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, MIXED)
    for name in ("BTCUSD_PERP", INVERSE):
        what = run_json(capsys, "--portfolio", str(path), "--symbol", name, "--add-size", "10000")["what_if"]
        before, after = what["before"], what["after"]
        assert what["position"] == 1 and after["positions"][1]["size"] == pytest.approx(60000)
        assert after["account"]["pools"][0] == before["account"]["pools"][0]  # the USDT pool is not touched
    line = run_error(capsys, "--portfolio", str(path), "--symbol", "ETHUSD_PERP", "--add-size", "10")
    assert line.startswith("liqwatch: error: --symbol: no ETH/USD:ETH position in")


@pytest.mark.parametrize("name", ["BTCUSD_PERP", "BTC/USD:BTC", "btcusd"])
def test_shock_beta_names_the_inverse_symbol(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    path = write(tmp_path, MIXED)
    args = ["--portfolio", str(path), "--shock", "10"]
    plain = run_json(capsys, *args)["what_if"]["steps"][0]["positions"][1]
    doubled = run_json(capsys, *args, "--beta", f"{name}=2")["what_if"]
    assert doubled["betas"] == {INVERSE: 2.0}
    moved = doubled["steps"][0]["positions"][1]
    assert (plain["mark_price"], moved["mark_price"]) == (pytest.approx(66000), pytest.approx(72000))


def test_partial_on_a_coin_margined_position(capsys: pytest.CaptureFixture[str]) -> None:
    """80,000 contracts (8,000,000 USD) at 25,000: 320 BTC, bracket 7; the preview's steps are in USD."""
    args = [*BINANCE, "--side", "long", "--contracts", "80000", "--entry", "25000", "--leverage", "3", "--partial"]
    partial = run_json(capsys, *args)["what_if"]["partial"]
    (step,) = partial["steps"][:1]
    assert step["closed_size"] + step["remaining_size"] == pytest.approx(8_000_000)
    assert " USD │" in run_text(capsys, *args)


def test_target_distance_reports_usd(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, *WHATIF, "--target-distance", "5")
    assert doc["what_if"]["max_add_size"] > 0
    assert "USD (" in run_text(capsys, *WHATIF, "--target-distance", "5")


# ----------------------------------------------------------------------------- bad inputs


FLAG_ERRORS = [
    (["--size", "100", "--contracts", "1"], "--contracts:", "not both"),
    ([], "--size:", "--contracts"),
    (["--contracts", "0"], "--contracts:", "> 0"),
    (["--contracts", "-3"], "--contracts:", "> 0"),
    (["--contracts", "nan"], "--contracts:", "finite"),
    (["--contracts", "1", "--contract-size", "0"], "--contract-size:", "> 0"),
    (["--contracts", "1", "--contract-size", "inf"], "--contract-size:", "finite"),
    (["--size", "100", "--margin", "0"], "--margin:", "> 0"),
    (["--size", "100", "--margin-mode", "cross"], "--wallet-balance:", "required"),
]


@pytest.mark.parametrize(("extra", "flag", "words"), FLAG_ERRORS)
def test_bad_flags_are_one_line(capsys: pytest.CaptureFixture[str], extra: list[str], flag: str, words: str) -> None:
    line = run_error(capsys, *BINANCE, "--side", "long", "--entry", "25000", "--leverage", "10", *extra)
    assert line.startswith(f"liqwatch: error: {flag}") and words in line, line


def _pf(positions: list[dict[str, Any]], wallet: Any = 1.0, exchange: str = "binance") -> dict[str, Any]:
    return {"exchange": exchange, "wallet_balance": wallet, "positions": positions}


CROSS_BTC = {"symbol": "BTCUSD_PERP", "side": "long", "contracts": 10, "entry_price": 50000, "margin_mode": "cross"}
CROSS_USDT = {"symbol": "BTCUSDT", "side": "long", "size": 1, "entry_price": 50000, "margin_mode": "cross"}

PORTFOLIO_ERRORS = [
    (_pf([CROSS_BTC], {"USDT": 1000}), "wallet_balance: no BTC amount for the cross position positions[0]"),
    (_pf([CROSS_USDT, CROSS_BTC], 1000), "wallet_balance: one number is one settle currency"),
    (_pf([CROSS_BTC], {"BTC": "lots"}), "wallet_balance"),
    (_pf([CROSS_BTC], {"B-TC": 1}), "wallet_balance"),
    (_pf([CROSS_BTC], [1, 2]), "wallet_balance"),
    (_pf([CROSS_BTC], {}), "wallet_balance"),
    (_pf([{**CROSS_BTC, "size": 1000}]), "positions[0].contracts: give a size or a number of contracts, not both"),
    (_pf([{k: v for k, v in CROSS_BTC.items() if k != "contracts"}]), "positions[0].size: required"),
    (_pf([{**CROSS_BTC, "contracts": -1}]), "positions[0].contracts"),
    (_pf([{**CROSS_BTC, "contract_size": 0}]), "positions[0].contract_size"),
    (_pf([{**CROSS_BTC, "symbol": "BTCUSD", "contract_size": None}], exchange="bitget"), "positions[0].contract_size"),
    (_pf([{**CROSS_BTC, "symbol": "BTC/USD:BTC"}], exchange="hyperliquid"), "positions[0].symbol"),
]


@pytest.mark.parametrize(("doc", "expect"), PORTFOLIO_ERRORS)
def test_bad_portfolios_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: dict[str, Any], expect: str
) -> None:
    path = write(tmp_path, doc)
    line = run_error(capsys, "--portfolio", str(path))
    assert line.startswith(f"liqwatch: error: {path}: ") and expect in line, line


def test_human_output_never_shows_an_unlabelled_amount(capsys: pytest.CaptureFixture[str]) -> None:
    text = run_text(capsys, *WHATIF)
    for row in ("Margin balance", "Maintenance margin", "Initial margin", "Notional / uPnL"):
        (line,) = [ln for ln in text.splitlines() if row in ln]
        assert "BTC" in line, line


# ----------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(
    venue=st.sampled_from(["binance", "bybit", "okx", "gate"]),
    contracts=st.integers(1, 10**6).map(float),  # these venues trade whole contracts only
    entry=st.floats(100, 1e6),
    leverage=st.floats(1, 50),
)
def test_contracts_and_default_margin_property(venue: str, contracts: float, entry: float, leverage: float) -> None:
    """size = contracts x the bundled contract size (USD); the default isolated margin is
    Q / (entry x leverage) coins; the same position by --size is the same spec."""
    from liqwatch.core import VENUES
    from liqwatch.request import PositionRequest, build_spec

    v = VENUES[venue]
    common: dict[str, Any] = {"symbol": NATIVE[venue], "side": "long", "entry_price": entry, "leverage": leverage}
    common["max_leverage"] = 125.0  # with mmr: one bracket, whatever the size
    by_contracts = build_spec(v, PositionRequest(size=None, contracts=contracts, mmr=0.001, **common))
    size = contracts * (by_contracts.contract_size or 0)
    assert by_contracts.contract_size == (100.0 if venue in ("binance", "okx") else 1.0)
    assert by_contracts.inverse and by_contracts.settle == "BTC" and by_contracts.size == size
    assert by_contracts.isolated_margin == pytest.approx(size / (entry * leverage), rel=1e-12)
    by_size = build_spec(v, PositionRequest(size=size, mmr=0.001, **common))
    assert by_size.size == by_contracts.size and by_size.isolated_margin == by_contracts.isolated_margin
    assert by_size.contracts == pytest.approx(contracts, rel=1e-12)


CURRENCIES = st.sampled_from(["USDT", "BTC", "ETH"])


@settings(max_examples=100, deadline=None)
@given(
    held=st.lists(st.tuples(CURRENCIES, st.booleans()), min_size=1, max_size=6),
    wallet=st.one_of(st.floats(0, 1e6), st.dictionaries(CURRENCIES, st.floats(0, 1e6), min_size=1)),
)
def test_account_wallet_property(held: list[tuple[str, bool]], wallet: float | dict[str, float]) -> None:
    """Either an error naming wallet_balance, or a wallet that gives every cross position's currency
    its own amount (a number only where one currency is held by cross positions)."""
    from liqwatch.core import VENUES, InputError, flat_table
    from liqwatch.core.model import PositionSpec
    from liqwatch.request import account_wallet

    venue = VENUES["binance"]
    specs = [
        PositionSpec(
            f"{ccy}/USD:{ccy}" if ccy != "USDT" else "BTC/USDT:USDT", "long", 1.0, 100.0, 100.0,
            flat_table(0.01, 0.0, 10.0), "cross" if cross else "isolated", "both", 2.0,
            None if cross else 0.5, inverse=ccy != "USDT", settle=None if ccy == "USDT" else ccy,
        )
        for ccy, cross in held
    ]  # fmt: skip
    cross_ccys = {ccy for ccy, cross in held if cross}
    try:
        out = account_wallet(venue, specs, wallet)
    except InputError as exc:
        assert exc.field == "wallet_balance"
        if isinstance(wallet, dict):
            assert not cross_ccys <= set(wallet)
        else:
            assert len(cross_ccys) > 1
        return
    if isinstance(out, dict):
        assert cross_ccys <= set(out)
        if not isinstance(wallet, dict):
            assert list(out.values()) == [wallet]
    else:
        assert out == wallet and {ccy for ccy, _ in held} == {"USDT"}
