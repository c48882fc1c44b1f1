"""``liqwatch watch``: a headless monitor printing JSON lines, for servers, cron and scripts.

Lines: ``{"type": "snapshot", ...}`` every ``--interval`` seconds (and once with ``--once``: exit
code :data:`EXIT_NO_DATA`, with one line on stderr per account, when an account had no data), and
``{"type": "event", ...}`` for connects, drops, resyncs, errors, positions that vanished or
shrank, and (kind ``liquidation_price_mismatch``, once per position) a liquidation price more than
a tick from the venue's, with the inputs behind it. Exits cleanly (code 0) on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from liqwatch.core.errors import InputError
from liqwatch.numfmt import typed

if TYPE_CHECKING:  # the parser is built for every command: keep this module's imports light
    from liqwatch.alerts.runner import AlertRunner
    from liqwatch.config import Config
    from liqwatch.feeds.base import Feed
    from liqwatch.feeds.events import Event, Status
    from liqwatch.monitor import Monitor
    from liqwatch.sinks import Sink
    from liqwatch.state import AccountView, Notice

ONCE_TIMEOUT = 20.0
EXIT_NO_DATA = 1
"""``--once``'s exit code when an account had no figures (``status`` not ``ok``) in its snapshot."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--demo", action="store_true", help="the embedded simulated market (no keys, no network)")
    src.add_argument("--config", type=Path, metavar="FILE", help="config file (default: the platform config dir)")
    src.add_argument("--replay", type=Path, metavar="FILE", help="play back a session recorded with --record")
    parser.add_argument("--interval", type=float, default=1.0, metavar="S", help="seconds between snapshots")
    parser.add_argument("--once", action="store_true", help="print one snapshot when the data is in, then exit")
    parser.add_argument("--record", type=Path, metavar="FILE", help="write every normalised event as JSON lines")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X", help="demo/replay speed (default 1)")
    parser.add_argument("--seed", type=int, default=7, help="demo market seed (deterministic prices)")
    parser.add_argument("--demo-positions", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--demo-symbols", type=int, default=500, metavar="M", help=argparse.SUPPRESS)
    parser.add_argument(  # issue #22: bench/watch_accounts.py
        "--demo-accounts",
        type=int,
        metavar="A",
        help="with --demo --demo-positions N [--demo-symbols M]: a synthetic demo of N positions over M symbols "
        "(default 500) spread over A accounts on Binance, Bybit and Hyperliquid in turn (default: 500 positions "
        "an account, all on Binance)",
    )
    parser.add_argument(  # issue #13: {"type": "market"} lines (liqwatch.market.watching)
        "--no-market", action="store_true", help="no market lines (insurance funds, ADL risk, mark vs index, funding)"
    )
    parser.add_argument("--market-every", type=float, metavar="S", help=argparse.SUPPRESS)
    from liqwatch.bus.args import add_bus_arguments  # issue #22: --source, --publish, --group, --replica, --quiet

    add_bus_arguments(parser, src)


def build_feeds(args: argparse.Namespace, warnings: list[str]) -> tuple[list[Feed], Config | None]:
    """The feeds, and the config they came from (None for the demo market and replays)."""
    if args.replay is not None:
        from liqwatch.feeds.replay import ReplayFeed, check_replay_file

        check_replay_file(args.replay)
        return [ReplayFeed(args.replay, args.speed)], None
    if args.demo:
        from liqwatch.feeds.demo import DemoFeed, DemoMarket, synthetic_accounts

        spread = getattr(args, "demo_accounts", None)
        if spread is not None and not args.demo_positions:
            raise InputError("--demo-accounts", "needs --demo-positions N (the synthetic demo it spreads)")
        if args.demo_positions:
            accounts, symbols = synthetic_accounts(args.demo_positions, args.demo_symbols, args.seed, spread)
            return [DemoFeed(speed=args.speed, market=DemoMarket(args.seed, accounts, symbols))], None
        return [DemoFeed(seed=args.seed, speed=args.speed)], None
    from liqwatch.config import load_config
    from liqwatch.feeds.live import VenueFeed

    config = load_config(args.config, warn=warnings)
    if not config.accounts:
        raise InputError("accounts", "the config has no [[accounts]]")
    return [VenueFeed(account) for account in config.accounts], config


def wire_claims(sinks: Sequence[Sink], alerts: AlertRunner) -> None:
    """Replicas of a bus group claim each alert before publishing it (:mod:`liqwatch.bus.claims`);
    an alert another replica claimed counts as delivered here (its cooldown runs), and this
    replica's ``[[channels]]`` deliver only what it published: each alert reaches them once."""
    for sink in sinks:
        claims_from = getattr(sink, "claims_from", None)
        if claims_from is not None and claims_from(
            alerts.engine.claim,
            lambda alert_id: alerts.engine.mark_delivered(alert_id, time.time()),
            alerts.release,
        ):
            alerts.hold_until_published()


def _event_line(event: Status) -> dict[str, Any]:
    return {
        "type": "event",
        "ts": event.ts,
        "account": event.account,
        "exchange": event.exchange,
        "kind": event.state,
        "channel": event.channel,
        "detail": event.detail,
    }


def _notice_line(notice: Notice) -> dict[str, Any]:
    return {
        "type": "event",
        "ts": notice.ts,
        "account": notice.account,
        "exchange": notice.exchange,
        "kind": notice.kind,
        "symbol": notice.symbol,
        "side": notice.side,
        "size_before": notice.size_before,
        "size_after": notice.size_after,
        "detail": notice.message,
    }


class _Printer:
    """Every record, serialised once, to every sink (:mod:`liqwatch.sinks`: stdout, the bus)."""

    def __init__(self, out: TextIO, sinks: Sequence[Sink] | None = None) -> None:
        import orjson

        from liqwatch.feeds.events import Status
        from liqwatch.sinks import StdoutSink

        self._dumps = orjson.dumps
        self._newline = orjson.OPT_APPEND_NEWLINE
        self.sinks = list(sinks) if sinks is not None else [StdoutSink(out)]
        self._status_type = Status
        self.out = out
        self.closed = False

    def line(self, obj: dict[str, Any]) -> None:
        if self.closed:
            return
        # orjson: a snapshot of 2,000 positions is ~3 MB of JSON every second, a tenth of watch's
        # CPU through the json module; the records map NaN and the infinities to null already.
        # Written as bytes where the stream has a buffer: decoding it to text only for the
        # stream to encode it again was a twentieth of the CPU.
        if not self.closed:
            self.write(obj, self._dumps(obj, option=self._newline))

    def write(self, obj: dict[str, Any], line: bytes) -> None:
        """``obj`` with its line written already (:class:`liqwatch.records.SnapshotLines`)."""
        if self.closed:
            return
        for sink in self.sinks:
            sink.write(obj, line)

    def on_event(self, event: Event) -> None:
        if isinstance(event, self._status_type):
            self.line(_event_line(event))

    def on_notice(self, notice: Notice) -> None:
        self.line(_notice_line(notice))


async def run_watch(
    args: argparse.Namespace, out: TextIO = sys.stdout, settle_heap: bool = False, err: TextIO | None = None
) -> int:
    """The watch loop. ``settle_heap``: once the first positions are printed, tune the garbage
    collector for a long-running process (:func:`liqwatch.heap.settle`; the command does, tests
    running it in their own process do not). ``err``: where ``--once`` says which accounts had no
    data (default: stderr)."""
    import asyncio
    import contextlib
    import signal

    from liqwatch.monitor import Monitor
    from liqwatch.records import SnapshotLines, clear_live_funding, note_market_funding

    if not (args.interval > 0):
        raise InputError("--interval", f"must be > 0, got {typed(args.interval)}")
    warnings: list[str] = []
    feeds, config = build_feeds(args, warnings)
    from liqwatch.sinks import close_sinks, open_sinks

    printer = _Printer(out, await open_sinks(args, config, feeds, out, err))
    lines = SnapshotLines()  # what did not change since the last snapshot is not written again
    for text in warnings:
        printer.line({"type": "event", "ts": time.time(), "kind": "warning", "detail": text})
    from liqwatch.alerts.runner import AlertRunner
    from liqwatch.alerts.store import AlertStore

    alerts = AlertRunner(
        config.alerts if config else (),
        config.channels if config else (),
        store=AlertStore() if config is not None else None,  # the demo and replays never persist
        accounts=config.accounts if config else (),
        on_alert=lambda alert: printer.line(alert.record()),
        on_failure=lambda failure: printer.line(failure.record()),
    )
    wire_claims(printer.sinks, alerts)
    recorder = None
    if args.record is not None:
        from liqwatch.feeds.replay import Recorder

        try:
            recorder = Recorder(args.record.open("w", encoding="utf-8"))
        except OSError as exc:
            raise InputError("--record", f"{args.record}: {exc.strerror}") from None

    def on_event(event: Event) -> None:
        printer.on_event(event)
        alerts.on_event(event)

    def on_notice(notice: Notice) -> None:
        printer.on_notice(notice)
        alerts.on_notice(notice)

    monitor = Monitor(feeds, record=recorder, on_event=on_event, on_notice=on_notice)
    market = None
    if not getattr(args, "no_market", False) and args.replay is None:
        from liqwatch.market.watching import WatchMarket

        def on_market(report: Any) -> None:
            printer.line(report.record())
            alerts.on_market(report)
            note_market_funding(report)  # the positions' funding (issue #13) in the next snapshots

        market_warnings: list[str] = []
        market = WatchMarket(
            feeds,
            config,
            monitor.state,
            on_market,
            demo=args.demo,
            speed=args.speed,
            every=getattr(args, "market_every", None),
            warnings=market_warnings,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    monitor.start()
    alerts.start()
    if market is not None:
        market.start()
        for text in market_warnings:
            printer.line({"type": "event", "ts": time.time(), "kind": "warning", "detail": text})
    try:
        if args.once:
            started = loop.time()
            deadline = started + ONCE_TIMEOUT
            while loop.time() < deadline and not stop.is_set():
                await asyncio.sleep(0.05)
                if _ready(monitor) and (market is None or not market.waiting()):
                    break
            snap = monitor.state.snapshot()
            alerts.on_snapshot(snap)
            for mismatch in monitor.state.mismatches(snap):
                printer.line(mismatch)
            record, line = lines.snapshot(snap)
            alerts.on_position_records(record["positions"])
            printer.write(record, line)
            printer.closed = True  # the snapshot is the last line of a --once run
            missing = [view for view in snap.accounts if view.data_status != "ok"]
            stream = sys.stderr if err is None else err
            for view in missing:
                stream.write(_no_data_line(view, loop.time() - started) + "\n")
            return EXIT_NO_DATA if missing else 0
        settled = not settle_heap
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=args.interval)
            if not stop.is_set():
                snap = monitor.state.snapshot()
                alerts.on_snapshot(snap)
                for mismatch in monitor.state.mismatches(snap):
                    printer.line(mismatch)
                record, line = lines.snapshot(snap)
                alerts.on_position_records(record["positions"])  # the funding rule (issue #13)
                printer.write(record, line)
                if not settled and snap.positions:
                    settled = True
                    from liqwatch.heap import settle

                    settle()  # the collector's work: 18-19 % -> 14-15 % of a core on 2,000 positions
        return 0
    finally:
        if market is not None:
            await market.stop()
            clear_live_funding()
        await monitor.stop()
        await alerts.stop()
        await close_sinks(printer.sinks)
        if recorder is not None:
            recorder.close()
            recorder.stream.close()


def _no_data_line(view: AccountView, waited: float) -> str:
    """``--once``'s one line for an account without figures: which, why, and the way out."""
    where = f"liqwatch: error: accounts.{view.name} ({view.exchange}): no data"
    if view.data_status == "connecting":
        return (
            f"{where}: still connecting after {waited:.0f} s ({view.cause}); "
            "check the venue is reachable, or run without --once to keep waiting"
        )
    import re

    # the run ends here: the feed's "(retrying in 120 s)" would promise a retry that never comes
    return f"{where}: {re.sub(r' [(]retrying in [0-9.]+ s[)]$', '', view.cause)}"


def _ready(monitor: Monitor) -> bool:
    accounts = monitor.state.accounts.values()
    if not accounts:
        return False
    ended = monitor.ended()
    for acc in accounts:
        if acc.positions_ts is None:
            # its feed gave up (no keys, say), or retries an error waiting cannot heal (a rejected
            # key, a missing permission): no data is coming in this run, do not wait for it
            if acc.name in ended or acc.lasting_error:
                continue
            return False
        if any(p.symbol not in acc.marks for p in acc.positions.values()):
            return False
    return True


def main(args: argparse.Namespace) -> int:
    import asyncio

    try:
        return asyncio.run(run_watch(args, settle_heap=True))
    except KeyboardInterrupt:
        return 0
