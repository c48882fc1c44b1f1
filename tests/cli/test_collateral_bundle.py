"""Issue #21 point 2/3, the dated collateral tables bundled with liqwatch (``liqwatch/data/collateral``):
a ``multi_assets`` row given without ratio, tiers or buffers takes the user's cache or the bundled
table that holds the asset (the fresher by ``as_of``), says which, warns when the table is over 30
days old, and an asset the bundle lacks is refused in one line naming the way out. Offline, always.

The figures below are recomputed by hand from the bundled rows, each copied from its source:
- Gate, announcement 41242 "Gate.io Launches the Eighth Batch of Gradient Margin Adjustment Factors"
  (2024-12-02, https://www.gate.io/announcements/article/41242): KAS 0-50K 0.7, 50K-100K 0.6,
  100K-200K 0.4, 200K-300K 0.3, >300K 0 (USD value, each slice at its own factor);
- OKX, "OKX Adjusts Discount Rates for BETH" (2024-07-18,
  https://www.globenewswire.com/news-release/2024/07/18/2915393/0/en/OKX-Adjusts-Discount-Rates-for-BETH.html):
  BETH 0 ~ 2,000,000 0.95, 2,000,000 ~ 4,000,000 0.85, 4,000,000 ~ 8,000,000 0.5, > 8,000,000 0 (USD).
"""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from liqwatch import collateral_cache, collateral_calc
from liqwatch.cli import main
from liqwatch.core.collateral import CollateralAsset, CollateralTier
from tests.cli.test_calc_collateral import BTC_LONG, calc_json, refused, write

USDT = {"asset": "USDT", "amount": 5_000, "price": 1, "ratio": 1}
OKX_URL = "https://www.globenewswire.com/news-release/2024/07/18/2915393/0/en/OKX-Adjusts-Discount-Rates-for-BETH.html"
TODAY = time.strftime("%Y-%m-%d", time.gmtime())


def account(venue: str, *rows: dict[str, Any]) -> dict[str, Any]:
    return {"exchange": venue, "account_mode": "multi_assets", "collateral": [USDT, *rows], "positions": [BTC_LONG]}


def days_since(day: str) -> int:
    return (datetime.now(UTC).date() - date.fromisoformat(day)).days


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bundled tables are local: calc must not open a connection to value a row."""

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("calc tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(autouse=True)
def _fresh_reads() -> None:
    collateral_calc._BUNDLES.clear()
    collateral_calc._CACHE_READS.clear()


# ------------------------------------------------------------------------------ the bundle itself


def test_every_bundled_table_validates() -> None:
    venues = collateral_cache.bundled_venues()
    assert {"bitget", "gate", "okx"} <= set(venues)
    for venue in venues:
        data = collateral_cache.read_bundled(venue)
        assert data is not None and data["venue"] == venue
        assert time.strptime(data["as_of"], "%Y-%m-%d") and data["source_url"].startswith("https://")
        assert data["source"] and isinstance(data["complete"], bool) and data["notes"]
        for name, entry in data["assets"].items():
            assert name == name.upper()
            tiers = tuple(CollateralTier(t["min"], t["max"], t["ratio"]) for t in entry["tiers"])
            # the core's own checks: contiguous from 0 to no end, every ratio in [0, 1]
            CollateralAsset(name, 1.0, 1.0, tiers=tiers, tier_basis=entry["tier_basis"])
    assert collateral_cache.read_bundled("bybit") is None  # no dated public table found: nothing bundled


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"venue": "okx", "source_url": "https://x", "assets": {}}, "no as_of or source_url"),
        ({"venue": "okx", "as_of": "2024-07-18", "assets": {}}, "no as_of or source_url"),
        (
            {"venue": "okx", "as_of": "2024-07-18", "source_url": "https://x", "assets": {"BETH": {"ratio": 1}}},
            "asset 'BETH' has neither tiers nor bid_buffer/ask_buffer",
        ),
        ({"venue": "gate", "as_of": "2024-07-18", "source_url": "https://x", "assets": {}}, "written for venue"),
    ],
)
def test_a_malformed_bundle_is_a_packaging_error_not_a_guess(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doc: dict[str, Any], problem: str
) -> None:
    from importlib import resources

    (tmp_path / "okx.json").write_text(json.dumps(doc))
    monkeypatch.setattr(resources, "files", lambda _: tmp_path)
    with pytest.raises(ValueError, match=f"bundled okx collateral table: {problem}"):
        collateral_cache.read_bundled("okx")


# ------------------------------------------------------------------------------ calc values from it


def test_gate_row_valued_from_the_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kas = {"asset": "KAS", "amount": 1_000_000, "price": 0.15}  # 150,000 USD of KAS
    doc = calc_json(capsys, "--portfolio", str(write(tmp_path, account("gate", kas))))
    acc = doc["account"]
    rows = {c["asset"]: c for c in acc["collateral"]}
    # 50,000 x 0.7 + 50,000 x 0.6 + 50,000 x 0.4 (the 100K-200K slice, up to 150,000)
    kas_value = 50_000 * 0.7 + 50_000 * 0.6 + 50_000 * 0.4
    assert rows["KAS"]["collateral_value_usd"] == pytest.approx(kas_value, rel=1e-12)
    assert rows["KAS"]["ratio"] == pytest.approx(kas_value / 150_000, rel=1e-12)
    # USDT 5,000 less the long's loss 2,000 (52,000 -> 50,000), at ratio 1
    assert acc["effective_equity"] == pytest.approx(3_000 + kas_value, rel=1e-12)
    assert acc["collateral_tables"] == [
        {
            "asset": "KAS",
            "source": "bundled gate table as of 2024-12-02 (https://www.gate.io/announcements/article/41242)",
        }
    ]


def test_bitget_btc_valued_from_the_bundle_as_bitgets_own_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bitget's "Coin haircut for USDT-M positions in multi-asset mode" (2024-09-05): 10 BTC at an index
    of 60,000 USDT count 100,000 x 0.975 + 400,000 x 0.97 + 100,000 x 0.965 = 582,000 USDT."""
    btc = {"asset": "BTC", "amount": 10, "price": 60_000}
    doc = calc_json(capsys, "--portfolio", str(write(tmp_path, account("bitget", btc))))
    rows = {c["asset"]: c for c in doc["account"]["collateral"]}
    assert rows["BTC"]["value_usd"] == pytest.approx(600_000, rel=1e-12)
    assert rows["BTC"]["collateral_value_usd"] == pytest.approx(582_000, rel=1e-12)
    assert doc["account"]["collateral_tables"] == [
        {
            "asset": "BTC",
            "source": "bundled bitget table as of 2024-09-05 (https://bitgetapp.com/ph/support/articles/12560603815234)",
        }
    ]


def test_okx_row_valued_from_the_bundle_and_said_in_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    beth = {"asset": "BETH", "amount": 1_000, "price": 3_000}  # 3,000,000 USD of BETH
    path = str(write(tmp_path, account("okx", beth)))
    doc = calc_json(capsys, "--portfolio", path)
    rows = {c["asset"]: c for c in doc["account"]["collateral"]}
    assert rows["BETH"]["collateral_value_usd"] == pytest.approx(2_000_000 * 0.95 + 1_000_000 * 0.85, rel=1e-12)
    source = f"bundled okx table as of 2024-07-18 ({OKX_URL})"
    assert doc["account"]["collateral_tables"] == [{"asset": "BETH", "source": source}]
    assert main(["calc", "--portfolio", path, "--offline"]) == 0
    assert f"BETH valued from the {source}" in " ".join(capsys.readouterr().out.split()).replace("- ", "-")


def test_one_position_flags_value_from_the_bundle(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--exchange", "okx", "--symbol", "BTC/USDT:USDT", "--side", "long", "--size", "1", "--entry", "52000"]
    argv += ["--mark", "50000", "--mmr", "1%", "--account-mode", "multi_assets", "--collateral", "USDT=5000@1"]
    argv += ["--collateral-ratio", "USDT=1", "--collateral", "BETH=1000@3000"]
    doc = calc_json(capsys, *argv)
    rows = {c["asset"]: c for c in doc["account"]["collateral"]}
    assert rows["BETH"]["collateral_value_usd"] == pytest.approx(2_750_000, rel=1e-12)


def test_an_asset_the_bundle_lacks_is_refused_naming_the_way_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eth = {"asset": "ETH", "amount": 1, "price": 3_000}
    err = refused(capsys, "--portfolio", str(write(tmp_path, account("okx", eth))))
    assert err.endswith(
        "collateral[1].ratio: no ratio, tiers or bid_buffer/ask_buffer for ETH, and the bundled okx collateral table "
        '(as of 2024-07-18) has no ETH: give "ratio", "tiers" (with "tier_basis") or "bid_buffer" and "ask_buffer", '
        "or cache the venue's table with `liqwatch tiers update --exchange okx --collateral` (the okx collateral "
        "cache is empty)"
    )
    btc = {"asset": "BTC", "amount": 0.2, "price": 50_000}
    err = refused(capsys, "--portfolio", str(write(tmp_path, account("gate", btc))))
    assert 'for BTC, and the bundled gate collateral table (as of 2024-12-02) has no BTC: give "ratio"' in err


# ------------------------------------------------------------------------------ cache and bundle


def test_the_cache_beats_the_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flat = {"tiers": [{"min": 0, "max": None, "ratio": 0.5}], "tier_basis": "quantity"}
    collateral_cache.write_collateral("okx", {"BETH": flat}, "https://www.okx.com/api/v5/public/x")
    beth = {"asset": "BETH", "amount": 1_000, "price": 3_000}
    path = str(write(tmp_path, account("okx", beth)))
    doc = calc_json(capsys, "--portfolio", path)
    rows = {c["asset"]: c for c in doc["account"]["collateral"]}
    assert rows["BETH"]["ratio"] == pytest.approx(0.5)
    assert doc["account"]["collateral_tables"][0]["source"] == (
        f"okx cache as of {TODAY} (https://www.okx.com/api/v5/public/x)"
    )


def test_the_bundle_values_what_the_cache_lacks_and_an_older_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flat = {"tiers": [{"min": 0, "max": None, "ratio": 0.5}], "tier_basis": "quantity"}
    where = collateral_cache.write_collateral("okx", {"BTC": flat}, "https://www.okx.com/api/v5/public/x")
    beth = {"asset": "BETH", "amount": 1_000, "price": 3_000}
    path = str(write(tmp_path, account("okx", beth)))
    doc = calc_json(capsys, "--portfolio", path)
    assert doc["account"]["collateral_tables"][0]["source"].startswith("bundled okx table as of 2024-07-18")
    # a cache older than the bundle (as_of) loses to it
    collateral_cache.write_collateral("okx", {"BETH": flat}, "https://www.okx.com/api/v5/public/x")
    data = json.loads(where.read_text())
    where.write_text(json.dumps({**data, "as_of": "2020-01-01"}))
    doc = calc_json(capsys, "--portfolio", path)
    rows = {c["asset"]: c for c in doc["account"]["collateral"]}
    assert rows["BETH"]["collateral_value_usd"] == pytest.approx(2_750_000, rel=1e-12)


def test_offline_flag_and_environment_both_use_the_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(write(tmp_path, account("okx", {"asset": "BETH", "amount": 1_000, "price": 3_000})))
    assert main(["calc", "--portfolio", path, "--json"]) == 0  # LIQWATCH_OFFLINE=1 (the tests' default)
    first = capsys.readouterr().out
    monkeypatch.delenv("LIQWATCH_OFFLINE")
    assert main(["calc", "--portfolio", path, "--json", "--offline"]) == 0
    assert capsys.readouterr().out == first and '"bundled okx table as of 2024-07-18' in first


# ------------------------------------------------------------------------------ stale bundles warn


def test_a_stale_bundled_table_warns_after_every_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(write(tmp_path, account("okx", {"asset": "BETH", "amount": 1_000, "price": 3_000})))
    age = days_since("2024-07-18")
    line = (
        f"liqwatch: warning: the okx collateral table (BETH) is {age} days old (bundled, as of 2024-07-18); "
        "refresh it with `liqwatch tiers update --exchange okx --collateral`"
    )
    for extra in ([], ["--json"], ["--collateral-shock", "BETH=-10"], ["--shock", "-5"]):
        assert main(["calc", "--portfolio", path, "--offline", *extra]) == 0, extra
        captured = capsys.readouterr()
        assert captured.err.splitlines().count(line) == 1, (extra, captured.err)
        assert captured.out  # the answer first, on stdout; the warning on stderr
    # a row with its own ratio uses no table: nothing to warn about
    own = str(write(tmp_path, account("okx", {"asset": "BETH", "amount": 1_000, "price": 3_000, "ratio": 0.9})))
    assert main(["calc", "--portfolio", own, "--offline"]) == 0
    assert "collateral table" not in capsys.readouterr().err


def test_a_fresh_bundle_does_not_warn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = collateral_cache.read_bundled("okx")
    assert bundle is not None
    monkeypatch.setitem(collateral_calc._BUNDLES, "okx", {**bundle, "as_of": TODAY})
    path = str(write(tmp_path, account("okx", {"asset": "BETH", "amount": 1_000, "price": 3_000})))
    assert main(["calc", "--portfolio", path, "--offline"]) == 0
    assert "collateral table" not in capsys.readouterr().err
