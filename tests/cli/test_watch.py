"""The monitor pipeline without a venue: demo market, state store, replay, `liqwatch watch`."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from liqwatch.config import AccountConfig, Secrets, load_config, resolve_secrets
from liqwatch.core.errors import InputError
from liqwatch.feeds.demo import CRASH_START, DemoFeed, DemoMarket, synthetic_accounts
from liqwatch.feeds.events import (
    Balance,
    MarkPrice,
    PositionData,
    Positions,
    Status,
    TierRowData,
    Tiers,
    dump_event,
    parse_event,
)
from liqwatch.feeds.replay import Recorder, ReplayFeed
from liqwatch.monitor import Monitor
from liqwatch.state import FEED_ERRORS_KEPT, State, position_record, snapshot_record
from tests.fakes.ws_server import WAIT_TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
POSITION_KEYS = {
    "account",
    "exchange",
    "symbol",
    "side",
    "size",
    "entry_price",
    "mark_price",
    "mark_age_s",
    "stale",
    "liquidation_price",
    "exchange_liquidation_price",
    "liquidation_price_diff_ticks",
    "bankruptcy_price",
    "margin_ratio",
    "tier",
    "distance_to_liquidation",
    "adl",
}


class Clock:
    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


# ---------------------------------------------------------------- demo market


def test_demo_is_deterministic_for_a_seed() -> None:
    a, b, c = DemoMarket(7), DemoMarket(7), DemoMarket(8)
    for _ in range(50):
        a.step()
        b.step()
        c.step()
    assert a.log_price == b.log_price
    assert a.log_price != c.log_price


def test_demo_crash_within_a_minute_liquidates_and_moves_adl() -> None:
    market = DemoMarket(7)
    before = {acc.name: len(acc.positions) for acc in market.accounts}
    btc0 = market.price("BTC/USDT:USDT")
    lights_seen: set[int] = set()
    liquidated_at = None
    for tick in range(1, 61):
        changed = market.step()
        if changed and liquidated_at is None:
            liquidated_at = tick
        for acc in market.accounts:
            for ev in market.position_events(acc, 0.0):
                if isinstance(ev, Positions):
                    lights_seen.update(p.adl_lights for p in ev.positions if p.adl_lights is not None)
    assert liquidated_at is not None and CRASH_START <= liquidated_at <= 60
    assert sum(len(acc.positions) for acc in market.accounts) < sum(before.values())
    assert market.price("BTC/USDT:USDT") < btc0
    assert len(lights_seen) >= 2  # ADL lights change as PnL swings


def test_synthetic_demo_size() -> None:
    accounts, symbols = synthetic_accounts(2000, 500, 7)
    assert len(symbols) == 500
    assert sum(len(a.positions) for a in accounts) == 2000


# ---------------------------------------------------------------- state store


def _pos(**kw: Any) -> PositionData:
    base: dict[str, Any] = {
        "symbol": "BTC/USDT:USDT",
        "side": "long",
        "size": 1.0,
        "entry_price": 60000.0,
        "margin_mode": "isolated",
        "leverage": 10.0,
        "isolated_margin": 6000.0,
    }
    base.update(kw)
    return PositionData(**base)


def test_marks_carry_their_age_and_go_stale() -> None:
    clock = Clock()
    state = State(clock)
    state.apply(Positions(account="a", exchange="binance", ts=clock.t, positions=[_pos()]))
    state.apply(
        MarkPrice(account="a", exchange="binance", ts=clock.t, symbol="BTC/USDT:USDT", price=59000, interval=1.0)
    )
    fresh = state.snapshot().positions[0]
    assert not fresh.stale and fresh.mark_age_s == 0.0
    clock.t += 2.9
    assert not state.snapshot().positions[0].stale
    clock.t += 0.2
    view = state.snapshot().positions[0]
    assert view.stale and view.mark_age_s == pytest.approx(3.1)
    record = position_record(view)
    assert record.keys() >= POSITION_KEYS and record["stale"] is True
    # a position with no mark at all is never presented as fresh
    state.apply(Positions(account="b", exchange="binance", ts=clock.t, positions=[_pos()]))
    assert [v.stale for v in state.snapshot().positions if v.account == "b"] == [True]


def test_feed_errors_outside_any_account_are_bounded() -> None:
    state = State(Clock())
    for i in range(FEED_ERRORS_KEPT + 25):
        state.apply(Status(account="feed", exchange="nowhere", ts=float(i), state="error", detail=f"e{i}"))
    assert len(state.feed_errors) == FEED_ERRORS_KEPT
    assert state.feed_errors[-1].detail == f"e{FEED_ERRORS_KEPT + 24}"  # the latest are kept
    assert state.feed_errors[0].detail == "e25"


def test_out_of_order_marks_do_not_go_backwards() -> None:
    state = State(Clock())
    state.apply(MarkPrice(account="a", exchange="binance", ts=10.0, symbol="X/USDT:USDT", price=2.0))
    state.apply(MarkPrice(account="a", exchange="binance", ts=9.0, symbol="X/USDT:USDT", price=1.0))
    assert state.accounts["a"].marks["X/USDT:USDT"].price == 2.0


def test_vanished_and_shrunk_positions_are_reported() -> None:
    clock = Clock()
    state = State(clock)
    state.apply(
        Positions(
            account="a",
            exchange="binance",
            ts=1.0,
            positions=[_pos(), _pos(symbol="ETH/USDT:USDT", size=10.0, entry_price=3000.0, isolated_margin=3000.0)],
        )
    )
    state.apply(MarkPrice(account="a", exchange="binance", ts=1.0, symbol="BTC/USDT:USDT", price=54200.0))
    state.snapshot()
    notices = state.apply(
        Positions(
            account="a",
            exchange="binance",
            ts=2.0,
            positions=[_pos(symbol="ETH/USDT:USDT", size=4.0, entry_price=3000.0, isolated_margin=1200.0)],
        )
    )
    kinds = {(n.kind, n.symbol) for n in notices}
    assert kinds == {("vanished", "BTC/USDT:USDT"), ("shrunk", "ETH/USDT:USDT")}
    btc = next(n for n in notices if n.symbol == "BTC/USDT:USDT")
    assert "likely liquidated" in btc.message  # the mark had reached its liquidation price
    # hints (incomplete snapshots) never remove positions
    assert state.apply(Positions(account="a", exchange="binance", ts=3.0, complete=False, positions=[])) == []


def test_exchange_liquidation_price_next_to_ours() -> None:
    state = State(Clock())
    state.apply(
        Positions(
            account="a",
            exchange="binance",
            ts=1.0,
            positions=[
                _pos(exchange_liquidation_price=54_300.0),
                _pos(symbol="ETH/USDT:USDT", entry_price=3000.0, isolated_margin=300.0),
            ],
        )
    )
    records = [position_record(v) for v in state.snapshot().positions]
    btc, eth = records
    assert btc["liquidation_price_diff"] == pytest.approx(btc["liquidation_price"] - 54_300.0)
    assert eth["exchange_liquidation_price"] is None and "liqwatch's is shown" in eth["note"]


def _bybit_btc(**kw: Any) -> PositionData:
    """Issue #9.2's position as the pre-fix mapping gave it: 0.5 BTC 20x long at 60,000 with the
    fee to close (15.675) left in its margin; Bybit shows 57,300.0."""
    fields: dict[str, Any] = {
        "size": 0.5,
        "leverage": 20.0,
        "isolated_margin": 1515.675,
        "exchange_liquidation_price": 57_300.0,
        "tick_size": 0.1,
    }
    return _pos(**{**fields, **kw})


BYBIT_BTC_TIERS = Tiers(
    account="a",
    exchange="bybit",
    ts=1.0,
    symbol="BTC/USDT:USDT",
    tiers=[TierRowData(min_notional=0, max_notional=2_000_000, mmr=0.005, max_leverage=100)],
)


def test_liquidation_price_diff_in_ticks() -> None:
    state = State(Clock())
    state.apply(BYBIT_BTC_TIERS)
    state.apply(
        Positions(
            account="a",
            exchange="bybit",
            ts=1.0,
            positions=[
                _bybit_btc(),
                _bybit_btc(symbol="ETH/USDT:USDT", entry_price=3000.0, isolated_margin=300.0, tick_size=None),
                _bybit_btc(side="short", isolated_margin=1500.0, exchange_liquidation_price=None),
            ],
        )
    )
    records = {(v.data.symbol, v.data.side): position_record(v) for v in state.snapshot().positions}
    btc, eth, short = (
        records[key] for key in (("BTC/USDT:USDT", "long"), ("ETH/USDT:USDT", "long"), ("BTC/USDT:USDT", "short"))
    )
    assert btc["liquidation_price"] == pytest.approx(57_268.65)
    assert btc["liquidation_price_diff_ticks"] == pytest.approx((57_268.65 - 57_300.0) / 0.1)  # -313.5
    assert eth["liquidation_price_diff_ticks"] is None  # no tick: neither the market's nor bundled
    assert short["liquidation_price"] == pytest.approx(62_700.0)
    assert short["liquidation_price_diff_ticks"] is None  # the venue gave no price
    json.dumps(btc, allow_nan=False)


def test_a_mismatch_over_a_tick_is_reported_once_with_its_inputs() -> None:
    state = State(Clock())
    state.apply(BYBIT_BTC_TIERS)
    fixed = _bybit_btc(symbol="BTC/USDT:USDT", side="short", entry_price=60_000.0, isolated_margin=1500.0)
    fixed = fixed.model_copy(update={"exchange_liquidation_price": 62_700.0})  # within a tick: 62,700.0
    state.apply(Positions(account="a", exchange="bybit", ts=1.0, positions=[_bybit_btc(), fixed]))
    (event,) = state.mismatches(state.snapshot())
    assert event["type"] == "event" and event["kind"] == "liquidation_price_mismatch"
    assert (event["account"], event["exchange"], event["symbol"], event["side"]) == (
        "a",
        "bybit",
        "BTC/USDT:USDT",
        "long",
    )
    assert event["liquidation_price_diff_ticks"] == pytest.approx(-313.5)
    assert event["inputs"]["isolated_margin"] == 1515.675 and event["inputs"]["mmr"] == 0.005
    # the margin that gives Bybit's price: 1,500, i.e. positionBalance less its fee to close
    assert event["implied"]["isolated_margin"] == pytest.approx(1500.0)
    assert "a margin of 1500" in event["detail"]
    json.dumps(event, allow_nan=False)
    assert state.mismatches(state.snapshot()) == []  # once per position
    state.apply(Positions(account="a", exchange="bybit", ts=2.0, positions=[fixed]))
    assert state.mismatches(state.snapshot()) == []
    state.apply(Positions(account="a", exchange="bybit", ts=3.0, positions=[_bybit_btc(), fixed]))
    assert len(state.mismatches(state.snapshot())) == 1  # gone and back: a new position


def test_a_mismatch_names_the_fee_rate_that_would_explain_it() -> None:
    """A fee-counting venue (OKX) at a 0.02% taker rate where liqwatch assumes 0.05%."""
    state = State(Clock())
    position = _pos(
        symbol="ETH/USDT:USDT",
        size=2.0,
        entry_price=3000.0,
        isolated_margin=600.0,
        tick_size=0.01,
        exchange_liquidation_price=(3000.0 - 300.0) / (1 - (0.004 + 0.0002)),
    )
    tiers = Tiers(
        account="a",
        exchange="okx",
        ts=1.0,
        symbol="ETH/USDT:USDT",
        tiers=[TierRowData(min_notional=0, max_notional=None, mmr=0.004, max_leverage=100)],
    )
    state.apply(tiers)
    state.apply(Positions(account="a", exchange="okx", ts=1.0, positions=[position]))
    (event,) = state.mismatches(state.snapshot())
    assert event["inputs"]["fee_rate"] == 0.0005 and event["inputs"]["fee_rate_source"] == "default"
    assert event["implied"]["fee_rate"] == pytest.approx(0.0002)
    assert "0.02% gives the venue's price" in event["detail"]


OKX_ETH_TIERS = Tiers(
    account="a",
    exchange="okx",
    ts=1.0,
    symbol="ETH/USDT:USDT",
    tiers=[TierRowData(min_notional=0, max_notional=None, mmr=0.004, max_leverage=100)],
)


def _okx_eth(fee_rate: float | None, venue_rate: float = 0.0002, **kw: Any) -> PositionData:
    """2 ETH at 3,000, margin 600, tier 0.4%; the venue's price at ``venue_rate``."""
    fields: dict[str, Any] = {
        "symbol": "ETH/USDT:USDT",
        "size": 2.0,
        "entry_price": 3000.0,
        "isolated_margin": 600.0,
        "tick_size": 0.01,
        "exchange_liquidation_price": (3000.0 - 300.0) / (1 - (0.004 + venue_rate)),
        "fee_rate": fee_rate,
    }
    return _pos(**{**fields, **kw})


def test_the_accounts_taker_rate_replaces_the_default_where_the_formula_counts_a_fee() -> None:
    state = State(Clock())
    state.apply(OKX_ETH_TIERS)
    state.apply(Positions(account="a", exchange="okx", ts=1.0, positions=[_okx_eth(0.0002)]))
    (view,) = state.snapshot().positions
    assert view.risk is not None and view.risk.spec.fee_rate == 0.0002
    assert position_record(view)["liquidation_price_diff_ticks"] == pytest.approx(0.0, abs=1e-6)
    assert state.mismatches(state.snapshot()) == []


@pytest.mark.parametrize("venue", ["binance", "hyperliquid", "bybit"])
def test_venues_without_a_fee_in_their_formula_stay_at_zero(venue: str) -> None:
    state = State(Clock())
    symbol = "BTC/USDC:USDC" if venue == "hyperliquid" else "BTC/USDT:USDT"
    state.apply(Positions(account="a", exchange=venue, ts=1.0, positions=[_pos(symbol=symbol, fee_rate=0.0004)]))
    state.snapshot()
    assert [s.fee_rate for s in state.accounts["a"].last_specs] == [0.0]


def test_a_hint_keeps_the_taker_rate_and_its_note_from_rest() -> None:
    """Private-stream hints read no fee endpoint: the rate REST read (or the note that it could
    not) stays until the next complete snapshot."""
    state = State(Clock())
    state.apply(OKX_ETH_TIERS)
    note = "the account's taker rate could not be read (x); the venue's default 0.05% is assumed"
    state.apply(
        Positions(
            account="a",
            exchange="okx",
            ts=1.0,
            positions=[_okx_eth(0.0002), _okx_eth(None, side="short", fee_note=note)],
        )
    )
    hint = [_okx_eth(None, isolated_margin=610.0), _okx_eth(None, side="short", isolated_margin=620.0)]
    state.apply(Positions(account="a", exchange="okx", ts=2.0, positions=hint, complete=False))
    long, short = (state.accounts["a"].positions[("ETH/USDT:USDT", side)] for side in ("long", "short"))
    assert (long.isolated_margin, long.fee_rate, long.fee_note) == (610.0, 0.0002, "")
    assert (short.isolated_margin, short.fee_rate, short.fee_note) == (620.0, None, note)
    views = {v.data.side: v for v in state.snapshot().positions}
    assert views["long"].risk is not None and views["long"].risk.spec.fee_rate == 0.0002
    assert "fee: " + note in position_record(views["short"])["note"]


def test_a_mismatch_says_the_rate_was_the_accounts() -> None:
    """Read from the venue and still off: the record says which rate it used and where it came from."""
    state = State(Clock())
    state.apply(OKX_ETH_TIERS)
    state.apply(Positions(account="a", exchange="okx", ts=1.0, positions=[_okx_eth(0.0003)]))
    (event,) = state.mismatches(state.snapshot())
    assert event["inputs"]["fee_rate"] == 0.0003 and event["inputs"]["fee_rate_source"] == "account"
    assert event["inputs"]["fee_note"] is None
    assert event["implied"]["fee_rate"] == pytest.approx(0.0002)
    assert "0.03% (the account's taker rate, read from okx); 0.02% would give" in event["detail"]
    json.dumps(event, allow_nan=False)


def test_watch_prints_each_mismatch_once_before_its_snapshot(tmp_path: Path) -> None:
    session = tmp_path / "session.jsonl"
    events = [
        BYBIT_BTC_TIERS,
        Positions(account="a", exchange="bybit", ts=1.0, positions=[_bybit_btc()]),
        MarkPrice(account="a", exchange="bybit", ts=1.0, symbol="BTC/USDT:USDT", price=59_500.0),
    ]
    session.write_text("".join(dump_event(e) + "\n" for e in events))
    from liqwatch.cli import build_parser

    args = build_parser().parse_args(["watch", "--replay", str(session), "--once", "--speed", "1000"])
    out = io.StringIO()
    from liqwatch.watch import run_watch

    assert asyncio.run(run_watch(args, out)) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    kinds = [line.get("kind", line["type"]) for line in lines]
    assert kinds.count("liquidation_price_mismatch") == 1
    assert kinds[-1] == "snapshot" and kinds.index("liquidation_price_mismatch") < len(kinds) - 1
    (record,) = lines[-1]["positions"]
    assert record["liquidation_price_diff_ticks"] == pytest.approx(-313.5)


def test_cross_positions_wait_for_the_balance() -> None:
    state = State(Clock())
    state.apply(Positions(account="a", exchange="binance", ts=1.0, positions=[_pos(margin_mode="cross")]))
    assert state.snapshot().positions[0].risk is None
    state.apply(Balance(account="a", exchange="binance", ts=1.0, wallet_balance=5000.0))
    assert state.snapshot().positions[0].risk is not None


def test_binance_without_private_tiers_uses_bundled_with_a_note() -> None:
    state = State(Clock())
    state.apply(Positions(account="a", exchange="binance", ts=1.0, positions=[_pos()]))
    view = state.snapshot().positions[0]
    assert view.risk is not None and "bundled tiers" in view.note


# ---------------------------------------------------------------- record / replay


def test_record_then_replay_reproduces_the_state(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"

    async def record() -> State:
        with path.open("w") as fh:
            recorder = Recorder(fh)
            feed = DemoFeed(seed=3, speed=200.0, max_ticks=40)
            monitor = Monitor([feed], record=recorder)
            monitor.start()
            async with asyncio.timeout(WAIT_TIMEOUT):
                while feed.market.tick < 40:  # all its ticks recorded, however long they take
                    await asyncio.sleep(0.01)
            await monitor.stop()
            recorder.close()
        return monitor.state

    live = asyncio.run(record())
    lines = path.read_text().splitlines()
    assert lines and all(parse_event(line) for line in lines)
    assert "apiKey" not in path.read_text() and "secret" not in path.read_text().lower()

    async def replay() -> State:
        feed = ReplayFeed(path, speed=1000.0)
        monitor = Monitor([feed])
        monitor.start()
        await asyncio.wait_for(feed.done.wait(), WAIT_TIMEOUT)
        await monitor.stop()
        return monitor.state

    replayed = asyncio.run(replay())
    for name, acc in live.accounts.items():
        other = replayed.accounts[name]
        assert other.positions == acc.positions
        assert {s: m.price for s, m in other.marks.items()} == {s: m.price for s, m in acc.marks.items()}
        assert other.wallet_balance == acc.wallet_balance


# ---------------------------------------------------------------- config and secrets


def test_secrets_never_show() -> None:
    s = Secrets("AKIAKEY123456", "supersecretvalue", "pass-phrase")
    assert "AKIA" not in repr(s) and "supersecret" not in str(s)
    assert s.redact("bad key AKIAKEY123456 / supersecretvalue") == "bad key *** / ***"


def test_config_validation_and_secret_lookup(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[accounts]]\nname = "main"\nexchange = "binance"\napi_key_env = "K"\napi_secret_env = "S"\n')
    path.chmod(0o644)
    warnings: list[str] = []
    config = load_config(path, warn=warnings)
    assert warnings and "chmod 600" in warnings[0]
    with pytest.raises(InputError, match="environment variable K is not set"):
        resolve_secrets(config.accounts[0], {})
    assert resolve_secrets(config.accounts[0], {"K": "key1234", "S": "sec5678"}).ccxt_options() == {
        "apiKey": "key1234",
        "secret": "sec5678",
    }
    bad = tmp_path / "bad.toml"
    bad.write_text('[[accounts]]\nname = "x"\nexchange = "okx"\napi_key_env = "K"\napi_secret_env = "S"\n')
    with pytest.raises(InputError, match="passphrase_env"):
        load_config(bad)
    hl = AccountConfig(name="hl", exchange="hyperliquid", wallet="0xabc")
    assert resolve_secrets(hl, {}).ccxt_options() == {}
    with pytest.raises(InputError, match="config file not found"):
        load_config(tmp_path / "missing.toml")


# ---------------------------------------------------------------- the command


def _watch(*args: str, timeout: float = 2 * WAIT_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liqwatch.cli", "watch", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.slow
def test_watch_demo_once_prints_a_full_snapshot() -> None:
    result = _watch("--demo", "--once")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    snapshot = lines[-1]
    assert snapshot["type"] == "snapshot" and snapshot["accounts"] and snapshot["positions"]
    for record in snapshot["positions"]:
        assert record.keys() >= POSITION_KEYS
        assert record["stale"] is False
    assert {line["kind"] for line in lines if line["type"] == "event"} >= {"connected"}


@pytest.mark.slow
def test_watch_exits_cleanly_on_sigterm_and_sigint() -> None:
    procs = {  # both started at once: each start-up is most of the test's time
        sig: subprocess.Popen(
            [sys.executable, "-m", "liqwatch.cli", "watch", "--demo", "--interval", "0.2"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        for sig, proc in procs.items():
            _snapshots_then(proc, sig)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def _snapshots_then(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Two snapshots read from ``proc``, then ``sig``: it exits 0 with no traceback."""
    assert proc.stdout is not None
    deadline = time.monotonic() + 2 * WAIT_TIMEOUT  # a safety net: each readline waits for a line
    snapshots = 0
    while snapshots < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line and json.loads(line)["type"] == "snapshot":
            snapshots += 1
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=WAIT_TIMEOUT)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.slow
def test_watch_errors_are_one_line(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    bad = tmp_path / "rec.jsonl"
    bad.write_text("not json\n")
    runs = [("--config", str(tmp_path / "nope.toml"), "--once"), ("--replay", str(bad), "--once")]
    with ThreadPoolExecutor(len(runs)) as pool:  # the processes at once: each is mostly its start-up
        missing, replay = pool.map(lambda argv: _watch(*argv), runs)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "config file not found" in missing.stderr
    assert replay.returncode == 2 and "line 1" in replay.stderr


def test_snapshot_record_shape() -> None:
    state = State(Clock())
    state.apply(Status(account="a", exchange="binance", ts=1.0, state="connected", channel="marks"))
    state.apply(Positions(account="a", exchange="binance", ts=1.0, positions=[_pos()]))
    record = snapshot_record(state.snapshot())
    assert record["type"] == "snapshot" and isinstance(record["ts"], float)
    assert record["accounts"][0]["feed"] == {"marks": "connected"}
    json.dumps(record, allow_nan=False)


def test_hints_keep_what_their_venue_does_not_send() -> None:
    state = State(Clock())
    state.apply(
        Positions(
            account="a", exchange="binance", ts=1.0, positions=[_pos(exchange_liquidation_price=54_300.0, adl_lights=3)]
        )
    )
    hint = _pos(size=1.5, leverage=None, exchange_liquidation_price=None, adl_lights=None)
    assert state.apply(Positions(account="a", exchange="binance", ts=2.0, complete=False, positions=[hint])) == []
    kept = state.accounts["a"].positions[("BTC/USDT:USDT", "long")]
    assert kept.size == 1.5 and kept.exchange_liquidation_price == 54_300.0 and kept.adl_lights == 3
    assert kept.leverage == 10.0


class _Settled(Exception):
    """Raised by the stand-in for liqwatch.heap.settle: ends the watch loop where it is called."""


def test_watch_settles_the_heap_once_the_first_positions_are_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """`liqwatch watch` tunes the garbage collector for a long run (liqwatch.heap.settle) right
    after its first snapshot with positions — not before, and never when run in a test's process."""
    import liqwatch.heap
    from liqwatch.cli import build_parser
    from liqwatch.watch import run_watch

    calls: list[int] = []
    out = io.StringIO()

    def settle() -> None:
        calls.append(sum(1 for line in out.getvalue().splitlines() if json.loads(line)["type"] == "snapshot"))
        raise _Settled

    monkeypatch.setattr(liqwatch.heap, "settle", settle)
    args = build_parser().parse_args(["watch", "--demo", "--interval", "0.01", "--no-market"])
    with pytest.raises(_Settled):
        asyncio.run(run_watch(args, out, settle_heap=True))
    assert calls == [1]  # right after the first snapshot line
    first = next(json.loads(line) for line in out.getvalue().splitlines() if json.loads(line)["type"] == "snapshot")
    assert first["positions"]
    assert asyncio.run(run_watch(build_parser().parse_args(["watch", "--demo", "--once"]), io.StringIO())) == 0
    assert calls == [1]  # the default (a test's own process): never


def test_settle_freezes_the_heap_and_collects_the_youngest_generation_less_often() -> None:
    import gc

    from liqwatch.heap import YOUNG_GC, settle

    before = gc.get_threshold()
    try:
        settle()
        assert gc.get_threshold() == (YOUNG_GC, before[1], before[2])
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_readme_watch_sample_is_real_output() -> None:
    """The README's snapshot sample (issue #20 point 17): every key it shows is one the demo's real
    snapshot line has, in the same order, for the account, its pool and the position."""
    import re

    from liqwatch.cli import build_parser
    from liqwatch.watch import run_watch

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## `liqwatch watch`") :]
    sample = section[section.index("```json") + 7 : section.index("```", section.index("```json") + 7)]
    args = build_parser().parse_args(["watch", "--demo", "--once", "--no-market"])
    out = io.StringIO()
    assert asyncio.run(run_watch(args, out)) == 0
    real = next(json.loads(line) for line in out.getvalue().splitlines() if json.loads(line)["type"] == "snapshot")

    def keys(fragment: str) -> list[str]:
        return [k for k in re.findall(r'"(\w+)":', fragment) if k != "..."]

    accounts = sample[sample.index('"accounts"') : sample.index('"positions"')]
    pools_at = accounts.index('"pools"')
    pools_end = accounts.index("]", pools_at) + 1
    pool_part = accounts[pools_at:pools_end]
    account_part = accounts[:pools_at] + '"pools": ' + accounts[pools_end:]
    position_part = sample[sample.index('"positions"') :]
    for shown, record in (
        (keys(account_part)[1:], real["accounts"][0]),
        (keys(pool_part)[1:], real["accounts"][0]["pools"][0]),
        (keys(position_part)[1:], real["positions"][0]),
    ):
        inner = [k for k in shown if k not in {"score", "lights", "source", "rest", "marks"}]
        assert all(k in record for k in inner), sorted(set(inner) - set(record))
        order = [k for k in record if k in inner]
        assert order == list(dict.fromkeys(inner)), (order, inner)
