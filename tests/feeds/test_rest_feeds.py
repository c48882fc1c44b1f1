"""RestClient (real ccxt clients) against the fake venue REST servers in tests/fakes.

Everything runs on 127.0.0.1. ccxt's rate limiter is stubbed out (autouse fixture) so the suite
stays fast; one test checks that the client still asks ccxt to rate-limit.
"""

from __future__ import annotations

import ast
import asyncio
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from liqwatch.config import Secrets
from liqwatch.feeds.ccxt_client import FeedError, override_urls
from liqwatch.feeds.rest import RestClient
from tests.fakes.rest_harness import (
    BITGET_FEE,
    ERROR_KINDS,
    KEYED,
    OKX_FEE,
    PASSPHRASE,
    SECRET,
    SYMBOLS,
    VENUES,
    _okx_fee_row,
    account,
    as_row,
    error_of,
    fetch_all,
    run,
    secrets,
)
from tests.fakes.rest_server import DEFAULT_KEY, FakeRestServer

ROOT = Path(__file__).resolve().parents[2]


def test_empty_account_and_restart() -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        first = await client.fetch_positions()
        fake.set_positions([])
        await fake.restart()  # same port, state kept: the client reconnects transparently
        second = await client.fetch_positions()
        return first, second

    first, second = run("okx", body)
    assert len(first.positions) == 4
    assert second.positions == []


def test_a_market_the_fee_answer_leaves_out_falls_back() -> None:
    def setup(fake: FakeRestServer) -> None:
        fake.set_positions(fake.data["positions_recorded"]["rows"])
        _okx_fee_row(fake, takerU="", feeGroup=[])

    snapshot, _, _ = fetch_all("okx", setup)
    (data,) = snapshot.positions
    assert data.fee_rate is None and "the venue gave no rate for this market" in data.fee_note


@pytest.mark.parametrize(("venue", "path", "per_symbol"), [("okx", OKX_FEE, False), ("bitget", BITGET_FEE, True)])
def test_the_taker_rate_is_read_once_not_per_reconcile(
    venue: str, path: str, per_symbol: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fee tiers change rarely: one lookup (per symbol where the venue answers per symbol) when the
    client first sees positions, none on the reconciles after it; a symbol that appears later is
    looked up alone; after FEE_REFRESH seconds everything is read again."""
    from liqwatch.feeds.venue_rest import FEE_REFRESH
    from liqwatch.venues import get_home

    now = [0.0]
    monkeypatch.setattr(get_home(venue).rest, "clock", lambda: now[0])

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[int, int, int, list[float | None]]:
        rows = fake.data[fake.venue.positions_fixture]
        fake.set_positions(rows[:2])  # BTC long and short
        for _ in range(3):
            await client.fetch_positions()
        first = fake.paths().count(path)
        fake.set_positions(rows)  # ETH and SOL appear
        for _ in range(3):
            snapshot = await client.fetch_positions()
        second = fake.paths().count(path)
        now[0] += FEE_REFRESH - 1
        await client.fetch_positions()
        assert fake.paths().count(path) == second
        now[0] += 1
        await client.fetch_positions()
        return first, second, fake.paths().count(path), [p.fee_rate for p in snapshot.positions]

    first, second, third, rates = run(venue, body)
    assert rates == [0.0005 if venue == "okx" else 0.0004] * 4
    assert first == 1
    assert second == (3 if per_symbol else 2)  # only the new symbols
    assert third == second + (3 if per_symbol else 1)  # refreshed: BTC, ETH and SOL


def test_a_failed_lookup_is_retried_after_a_while_not_per_reconcile(monkeypatch: pytest.MonkeyPatch) -> None:
    from liqwatch.feeds.venue_rest import FEE_RETRY
    from liqwatch.venues import get_home

    now = [0.0]
    monkeypatch.setattr(get_home("bitget").rest, "clock", lambda: now[0])

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[int, list[float | None], list[float | None]]:
        fake.set_positions(fake.data["positions_recorded"]["rows"])
        fake.set("trade_rate_status", 500)
        for _ in range(3):
            failed = await client.fetch_positions()
        calls = fake.paths().count(BITGET_FEE)
        fake.data.pop("trade_rate_status")
        now[0] += FEE_RETRY
        recovered = await client.fetch_positions()
        return calls, [p.fee_rate for p in failed.positions], [p.fee_rate for p in recovered.positions]

    calls, failed, recovered = run("bitget", body)
    assert calls == 1
    assert failed == [None] and recovered == [0.0004]


POSITION_PATHS = {"bybit": "/v5/position/list", "gate": "/api/v4/futures/usdt/positions"}
POSITION_READS = {"bybit": 2}
"""Requests per read of the positions: Bybit's linear and inverse categories (inverse by default)."""


@pytest.mark.parametrize("venue", VENUES)
def test_account_read_fetches_positions_once(venue: str) -> None:
    """Positions and the balance from one read: the balance takes the positions already fetched
    (Bybit and Gate used to fetch them again), with the same figures as two separate reads."""

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        before = len(fake.paths())
        positions, balance = await client.fetch_account()
        return positions, balance, fake.paths()[before:], await client.fetch_positions(), await client.fetch_balance()

    positions, balance, paths, alone, alone_balance = run(venue, body)
    assert balance.wallet_balance == pytest.approx(10000.0)
    assert balance.wallet_balance == alone_balance.wallet_balance
    assert [as_row(p) for p in positions.positions] == [as_row(p) for p in alone.positions]
    if venue in POSITION_PATHS:
        assert paths.count(POSITION_PATHS[venue]) == POSITION_READS.get(venue, 1)


def test_tiers_fall_back_to_bundled_when_unavailable() -> None:
    async def without_keys() -> tuple[list[Any], list[str]]:
        async with FakeRestServer("binance") as fake:
            client = RestClient(account("binance", fake.url), Secrets(None, None))
            try:
                return await client.fetch_tiers(["BTC/USDT:USDT"]), fake.paths()
            finally:
                await client.close()

    tiers, paths = asyncio.run(without_keys())
    assert tiers == []
    assert "/fapi/v1/leverageBracket" not in paths  # private: never asked for without keys

    async def failing(fake: FakeRestServer, client: RestClient) -> Any:
        fake.fail_next("server_error")
        return await client.fetch_tiers(["BTC/USDT:USDT"])

    assert run("bybit", failing) == []


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize(("failure", "kind"), ERROR_KINDS)
def test_error_mapping(venue: str, failure: str, kind: str) -> None:
    err = error_of(venue, lambda c: c.fetch_positions(), failure)
    assert err.kind == kind
    assert str(err).startswith(f"{venue} account 'main': ")
    assert "\n" not in str(err)


@pytest.mark.parametrize("venue", KEYED)
def test_auth_error(venue: str) -> None:
    err = error_of(venue, lambda c: c.fetch_balance(), "auth")
    assert err.kind == "auth"
    assert str(err) == f"{venue} account 'main': authentication failed: check the API key, secret and IP whitelist"


@pytest.mark.parametrize("venue", KEYED)
def test_wrong_api_key_is_an_auth_error(venue: str) -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> FeedError:
        with pytest.raises(FeedError) as info:
            await client.fetch_positions()
        return info.value

    err = run(venue, body, key="not-the-key-at-all")
    assert err.kind == "auth"


@pytest.mark.parametrize("venue", ["bybit", "okx", "gate", "bitget"])
def test_permission_error(venue: str) -> None:
    err = error_of(venue, lambda c: c.fetch_positions(), "permission")
    assert err.kind == "permission"
    assert str(err).startswith(f"{venue} account 'main': permission denied")


def test_network_error_when_the_venue_is_unreachable() -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        await fake.stop()
        with pytest.raises(FeedError) as info:
            await client.fetch_marks(["BTC/USDT:USDT"])
        await fake.start()  # same port again
        return info.value, await client.fetch_marks(["BTC/USDT:USDT"])

    err, marks = run("binance", body)
    assert err.kind == "network"
    assert marks[0].price == 61000.0


def test_open_maps_errors_and_can_be_retried() -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        fake.fail_next("maintenance")
        with pytest.raises(FeedError) as info:
            await client.open()
        await client.open()
        return info.value, await client.fetch_balance()

    err, balance = run("okx", body, open_client=False)
    assert err.kind == "maintenance" and "loading markets" in str(err)
    assert balance.wallet_balance == pytest.approx(10000.0)


@pytest.mark.parametrize("venue", KEYED)
def test_secrets_never_reach_messages(venue: str) -> None:
    """Even a venue that echoes the credentials back cannot leak them into a FeedError."""
    leak = f"upstream failed for key {DEFAULT_KEY} secret {SECRET} passphrase {PASSPHRASE}"

    async def body(fake: FakeRestServer, client: RestClient) -> list[str]:
        errors = fake.data["errors"]
        fake.set(
            "errors",
            {
                **errors,
                "server_error": {"status": 500, "text": leak},
                "rate_limit": {"status": 429, "text": leak},
                "auth": {"status": 401, "text": leak},
                "maintenance": {"status": 503, "text": leak},
                "permission": {"status": 403, "text": leak},
            },
        )
        messages = [repr(client), str(client.__dict__)]
        for kind in ("server_error", "rate_limit", "auth", "maintenance", "permission"):
            for call in (client.fetch_positions, client.fetch_balance):
                fake.fail_next(kind)
                try:
                    await call()
                except FeedError as exc:
                    messages.append(str(exc))
                    messages.append(repr(exc))
                else:  # pragma: no cover - every call above fails
                    raise AssertionError(kind)
        return messages

    messages = run(venue, body)
    assert len(messages) == 22
    for text in messages:
        for secret in (DEFAULT_KEY, SECRET, PASSPHRASE):
            assert secret not in text
    assert any("***" in m for m in messages)  # the echo was there, and redacted


def test_concurrent_open_makes_one_client() -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        await asyncio.gather(client.open(), client.open(), client.fetch_marks(["BTC/USDT:USDT"]))
        return fake.paths().count("/fapi/v1/exchangeInfo")

    assert run("binance", body, open_client=False) == 1


def test_feed_error_kinds() -> None:
    with pytest.raises(ValueError, match="unknown FeedError kind"):
        FeedError("oops", "x")
    err = FeedError("config", "binance account 'a': line one\nline two")
    assert str(err) == "binance account 'a': line one line two" and err.kind == "config"


# --------------------------------------------------------------------------- construction


def test_rest_url_override() -> None:
    urls = {
        "fapiPublic": "https://fapi.binance.com/fapi/v1",
        "public": "https://api.{hostname}",
        "rest": "https://{hostname}",
        "nested": {"futures": "https://api.gateio.ws/api/v4"},
        "ws": {"public": "wss://stream.example.com/ws"},
        "other": 5,
    }
    assert override_urls(urls, "http://127.0.0.1:9/") == {
        "fapiPublic": "http://127.0.0.1:9/fapi/v1",
        "public": "http://127.0.0.1:9",
        "rest": "http://127.0.0.1:9",
        "nested": {"futures": "http://127.0.0.1:9/api/v4"},
        "ws": {"public": "wss://stream.example.com/ws"},
        "other": 5,
    }


@pytest.mark.parametrize("venue", VENUES)
def test_client_options_and_read_only_traffic(venue: str) -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        await client.fetch_positions()
        await client.fetch_balance()
        await client.fetch_tiers(list(SYMBOLS[venue]))
        await client.fetch_marks(list(SYMBOLS[venue]))
        ex = client._ex
        return ex.enableRateLimit, dict(ex.options), fake.requests

    rate_limited, options, requests = run(venue, body)
    assert rate_limited is True
    # only reads: GETs, plus Hyperliquid's read API (POST /info with a read type)
    for method, path, query in requests:
        assert method == "GET" or (venue == "hyperliquid" and path == "/info"), (method, path)
        if method == "POST":
            assert query["type"] in {"meta", "metaAndAssetCtxs", "clearinghouseState"}
    # (Binance's one sapi read: /sapi/v1/account/info, whether the positions are on papi)
    paths = {path for _, path, _ in requests} - {"/sapi/v1/account/info"}
    assert not any("sapi" in p or "asset" in p or "currencies" in p for p in paths), paths
    if venue == "binance":
        assert options["fetchCurrencies"] is False
    if venue == "hyperliquid":
        assert options["fetchMarkets"]["types"] == ["swap"]


def test_testnet_uses_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    from ccxt.async_support.base.exchange import Exchange

    async def no_markets(self: Any, reload: bool = False, params: Any = None) -> dict[str, Any]:
        return {}

    monkeypatch.setattr(Exchange, "load_markets", no_markets)

    async def main() -> str:
        client = RestClient(account("binance", None, testnet=True), secrets("binance"))
        await client.open()
        try:
            return str(client._ex.urls["api"]["fapiPublic"])
        finally:
            await client.close()

    assert "testnet" in asyncio.run(main())


def test_rest_module_does_not_import_ccxt() -> None:
    code = "import sys, liqwatch.feeds.rest, liqwatch.venues; print('ccxt' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- read-only by construction

FORBIDDEN = {
    "create_order",
    "create_orders",
    "create_market_order",
    "create_limit_order",
    "create_stop_order",
    "create_reduce_only_order",
    "create_trailing_amount_order",
    "create_twap_order",
    "edit_order",
    "edit_orders",
    "cancel_order",
    "cancel_orders",
    "cancel_all_orders",
    "cancel_all_orders_after",
    "cancel_orders_for_symbols",
    "close_position",
    "close_all_positions",
    "transfer",
    "transfer_in",
    "transfer_out",
    "withdraw",
    "set_leverage",
    "set_margin_mode",
    "set_position_mode",
    "set_margin",
    "add_margin",
    "reduce_margin",
    "borrow_margin",
    "repay_margin",
    "create_deposit_address",
}
# ccxt's implicit API: any write endpoint (xxxPostYyy / xxxPutYyy / xxxDeleteYyy), bar Hyperliquid's
# read-only POST /info.
IMPLICIT_WRITE = re.compile(r"^[a-z][A-Za-z0-9]*(Post|Put|Delete|Patch)[A-Z0-9]")
ALLOWED_WRITE_NAMES = {"publicPostInfo"}


def _liqwatch_aliases(tree: ast.AST) -> set[str]:
    """Local names bound to liqwatch's own modules (``from liqwatch.core import whatif as wi``): the
    what-if maths has functions such as ``add_margin`` that only compute, so calls on them are fine."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "liqwatch":
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("liqwatch")):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def _is_write(name: str) -> bool:
    return name in FORBIDDEN or (IMPLICIT_WRITE.match(name) is not None and name not in ALLOWED_WRITE_NAMES)


def _write_calls(tree: ast.AST) -> list[str]:
    """Attribute calls (``exchange.create_order(...)``) and ``getattr(obj, "create_order")`` that
    reach an order, transfer or account-setting method, or a write endpoint of ccxt's implicit API."""
    own = _liqwatch_aliases(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = func.value.id if isinstance(func.value, ast.Name) else None
            if _is_write(func.attr) and receiver not in own:
                found.append(f"{func.attr} (line {node.lineno})")
        elif isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
            arg = node.args[1]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _is_write(arg.value):
                found.append(f"getattr {arg.value!r} (line {node.lineno})")
    return found


def test_no_module_calls_an_order_transfer_or_leverage_method() -> None:
    offenders = []
    for path in sorted((ROOT / "liqwatch").rglob("*.py")):
        for hit in _write_calls(ast.parse(path.read_text(), filename=str(path))):
            offenders.append(f"{path.relative_to(ROOT)}: {hit}")
    assert offenders == []


def test_the_read_only_scan_catches_write_calls() -> None:
    sample = (
        "from liqwatch.core import whatif as wi\n"
        "async def f(ex, client):\n"
        "    await ex.create_order('BTC/USDT:USDT', 'market', 'buy', 1)\n"
        "    await ex.privatePostV5PositionSetLeverage({})\n"
        "    await client._ex.set_leverage(5)\n"
        "    await getattr(ex, 'withdraw')('USDT', 1, 'addr')\n"
        "    await ex.publicPostInfo({'type': 'meta'})\n"  # Hyperliquid's read API
        "    wi.add_margin(None, [], 0.0, 0, 10.0)\n"  # liqwatch's own what-if maths
    )
    hits = _write_calls(ast.parse(sample))
    assert [h.split(" (")[0] for h in hits] == [
        "create_order",
        "privatePostV5PositionSetLeverage",
        "set_leverage",
        "getattr 'withdraw'",
    ], hits
