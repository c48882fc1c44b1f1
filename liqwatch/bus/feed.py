"""``liqwatch --source URL [--group G ...]``: the bus as one more source of the dashboard (issue #22).

A feed like the venue feeds and the replay: it reads the bus and emits the normalised events the
state store understands, so the dashboard (table, cards, what-if, ladder) runs unchanged on the
received positions. Each account is named ``<group>/<account>`` (two shards may both hold a
``demo-binance``); every record carries ``"group"`` (and ``"replica"`` where set).

* snapshots: an ordered consumer with ``LAST_PER_SUBJECT`` on ``liqwatch.snapshot.<group>.>``
  (cold start = the newest record per account, then live); each record becomes the account's
  positions (complete), balances per pool, its marks and its margin mode;
* alerts: an ordered consumer on ``liqwatch.alert.<group>.>`` from now - 24 h, to the alerts pane
  (the dashboard runs no alert engine of its own);
* presence: a watch on the ``liqwatch_presence`` bucket; a group none of whose watchers re-put its
  key within the bucket's max age shows STALE (a Status error on each of its accounts), and is
  cleared when a watcher is back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from liqwatch.bus.names import NAME, PREFIX, check_name

if TYPE_CHECKING:
    from nats.aio.msg import Msg

    from liqwatch.config import BusConfig
    from liqwatch.feeds.base import Sink
    from liqwatch.feeds.events import CollateralRow, Event

FIELD = "--source"
PRESENCE = "liqwatch_presence"
ALERT_HISTORY = 86_400.0
"""Seconds of alerts the pane starts with (the last 24 h)."""
STALE_CHECK = 1.0
"""Seconds between the presence checks."""
MARK_INTERVAL = 5.0
"""The expected spacing of a received mark (a watcher's snapshot): stale after 3x without one."""


def account_name(group: str, account: str) -> str:
    """The dashboard's name of a bus account: ``<group>/<account>``."""
    return f"{group}/{account}"


def stale_detail(group: str, ttl: float) -> str:
    return (
        f"STALE: group {group}: no watcher has reported for {ttl:g} s "
        f"(start one with `liqwatch watch --publish URL --group {group}`)"
    )


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _venue_collateral(acc: dict[str, Any]) -> list[CollateralRow]:
    """A portfolio account's collateral rows as the venue reported them (``"source": "venue"``),
    each with its value and collateral value as sent: the remote dashboard shows the same block."""
    from liqwatch.feeds.events import CollateralRow

    rows: list[CollateralRow] = []
    for row in acc.get("collateral") or ():
        amount, equity, price = _float(row.get("amount")), _float(row.get("equity")), _float(row.get("price"))
        value, cv = _float(row.get("value_usd")), _float(row.get("collateral_value_usd"))
        if row.get("source") != "venue" or None in (amount, equity, price, value, cv):
            continue
        assert amount is not None and equity is not None and price is not None
        rows.append(
            CollateralRow(
                asset=str(row["asset"]),
                amount=amount,
                price=price,
                pnl=equity - amount,
                value_usd=value,
                collateral_value_usd=cv,
            )
        )
    return rows


def snapshot_events(record: dict[str, Any]) -> list[Event]:
    """The events of one account's snapshot record as read from the bus (with its ``group``):
    its margin mode, a balance per pool, its positions (complete) and marks. Raises
    ``ValueError`` (pydantic's ValidationError included) for a record that is not one."""
    from liqwatch.feeds.events import AccountMode, Balance, MarkPrice, PositionData, Positions, Status

    group = str(record["group"])
    ts = float(record["ts"])
    (acc,) = record["accounts"]
    name = account_name(group, str(acc["account"]))
    exchange = str(acc["exchange"])
    events: list[Event] = []
    detail = acc.get("error")
    if detail:
        events.append(Status(account=name, exchange=exchange, ts=ts, state="error", channel="rest", detail=str(detail)))
    else:
        events.append(Status(account=name, exchange=exchange, ts=ts, state="connected", channel="rest"))
    mode = acc.get("mode") or "single"
    native_name, native = acc.get("margin_ratio_native_name"), _float(acc.get("margin_ratio_native"))
    inputs: dict[str, float | str | None] = {str(native_name): native} if native_name and native is not None else {}
    equity_name, equity = acc.get("effective_equity_venue_name"), _float(acc.get("effective_equity_venue"))
    if equity_name and equity is not None:
        inputs[str(equity_name)] = equity
    events.append(
        AccountMode(
            account=name,
            exchange=exchange,
            ts=ts,
            mode=mode,
            mode_detail=acc.get("mode_detail") or "",
            margin_ratio_venue=_float(acc.get("margin_ratio_venue")),
            account_status_venue=acc.get("account_status_venue") or None,
            venue_inputs=inputs,
            collateral=_venue_collateral(acc) if mode == "portfolio" else [],
        )
    )
    for pool in acc.get("pools") or ():
        wallet = _float(pool.get("cross_wallet_balance"))
        if wallet is not None and pool.get("settle"):
            events.append(
                Balance(account=name, exchange=exchange, ts=ts, wallet_balance=wallet, currency=str(pool["settle"]))
            )
    data: list[PositionData] = []
    marks: dict[str, MarkPrice] = {}
    for p in record.get("positions") or ():
        adl = p.get("adl") or {}
        data.append(
            PositionData(
                symbol=p["symbol"],
                side=p["side"],
                size=p["size"],
                entry_price=p["entry_price"],
                margin_mode=p.get("margin_mode") or "cross",
                position_side=p.get("position_side") or "both",
                leverage=_float(p.get("leverage")),
                isolated_margin=_float(p.get("isolated_margin")),
                mark_price=_float(p.get("mark_price")),
                exchange_liquidation_price=_float(p.get("exchange_liquidation_price")),
                adl_lights=adl.get("lights") if adl.get("source") == "exchange" else None,
                contract_size=_float(p.get("contract_size")),
                tick_size=_float(p.get("tick_size")),
                fee_rate=_float(p.get("taker_fee_rate")),
                inverse=bool(p.get("inverse", False)),
                settle=p.get("settle"),
                contracts=_float(p.get("contracts")),
            )
        )
        mark = _float(p.get("mark_price"))
        if mark is not None and mark > 0:
            age = _float(p.get("mark_age_s")) or 0.0
            marks[str(p["symbol"])] = MarkPrice(
                account=name, exchange=exchange, ts=ts - age, symbol=p["symbol"], price=mark, interval=MARK_INTERVAL
            )
    events.append(Positions(account=name, exchange=exchange, ts=ts, positions=data))
    events.extend(marks.values())
    return events


def alert_line(record: dict[str, Any]) -> tuple[float, str, str]:
    """``(ts, severity, message)`` of an alert record read from the bus, for the alerts pane."""
    who = str(record.get("group", "?"))
    if record.get("replica"):
        who += f"@{record['replica']}"
    return float(record.get("ts") or 0.0), str(record.get("severity") or "warning"), f"[{who}] {record.get('message')}"


def source_settings(
    url: str, groups: list[str] | None, args: argparse.Namespace | None = None
) -> tuple[BusConfig, list[str]]:
    """The connection settings and groups of ``liqwatch --source URL [--group G ...]`` (names
    checked): the one place every bus command builds them (``bus_config``: the ``--bus-*`` flags and
    ``--bus-config FILE``'s ``[bus]`` table, for the credentials and TLS)."""
    from liqwatch.bus.connect import bus_config

    checked = [check_name("--group", g) for g in groups or []]
    return bus_config(field=FIELD, url=url, args=args), checked


async def check_source(cfg: BusConfig) -> None:
    """Connect once and look for the streams: a bad URL, a server down or a bus never initialised
    ends in one line before the dashboard takes the screen."""
    from liqwatch.bus.connect import connect
    from liqwatch.bus.source import _check

    assert cfg.url is not None
    nc = await connect(cfg, field=FIELD)
    try:
        await _check(nc.jetstream(timeout=5.0), cfg.url)
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


class BusFeed:
    """The dashboard's source on the bus; see the module's docstring."""

    name = "bus"
    exchange = ""

    def __init__(
        self,
        cfg: BusConfig,
        groups: list[str] | None = None,
        *,
        on_alert: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self.groups = list(groups or [])
        self.on_alert = on_alert
        self.clock = clock
        self.accounts: dict[str, dict[str, str]] = {}
        """Per group, the accounts seen: dashboard name -> exchange."""
        self.presence: dict[str, float] = {}
        """Per group, when (our clock) a watcher's presence key was last put."""
        self.stale: set[str] = set()
        self.ttl = 15.0
        self.bad_records = 0
        self.received = 0
        self.started = asyncio.Event()
        """Set once the presence is known and the consumers are subscribed."""
        self._presence_loaded = asyncio.Event()
        self._sink: Sink | None = None

    def _filters(self, kind: str) -> list[str]:
        return [f"{PREFIX}.{kind}.{g}.>" for g in self.groups] or [f"{PREFIX}.{kind}.>"]

    async def run(self, sink: Sink) -> None:
        from nats.js.api import DeliverPolicy

        from liqwatch.bus.connect import connect
        from liqwatch.bus.source import HEARTBEAT

        self._sink = sink
        nc = await connect(self.cfg, field=FIELD, reconnect=True)
        subs: list[Any] = []
        tasks: list[asyncio.Task[None]] = []
        try:
            js = nc.jetstream(timeout=5.0)
            tasks.append(asyncio.create_task(self._presence(js), name="liqwatch-bus-presence"))
            await self._presence_loaded.wait()
            for flt in self._filters("snapshot"):
                subs.append(
                    await js.subscribe(
                        flt,
                        cb=self._on_snapshot,
                        ordered_consumer=True,
                        deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
                        idle_heartbeat=HEARTBEAT,
                    )
                )
            since = datetime.fromtimestamp(self.clock(), UTC) - timedelta(seconds=ALERT_HISTORY)
            for flt in self._filters("alert"):
                subs.append(
                    await js.subscribe(
                        flt,
                        cb=self._on_alert,
                        ordered_consumer=True,
                        deliver_policy=DeliverPolicy.BY_START_TIME,
                        config=_start_time(since),
                        idle_heartbeat=HEARTBEAT,
                    )
                )
            self.started.set()
            while True:
                await asyncio.sleep(STALE_CHECK)
                self.check_stale()
        finally:
            for task in tasks:
                task.cancel()
            for sub in subs:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
            with contextlib.suppress(Exception):
                await nc.close()

    async def _presence(self, js: Any) -> None:
        """Watch the presence bucket: its current keys first, then every re-put."""
        try:
            kv = await js.key_value(PRESENCE)
            ttl = (await kv.status()).ttl
            if ttl:
                self.ttl = float(ttl)
            watcher = await kv.watchall()
        except Exception:  # no bucket or no rights: every group shows STALE after the ttl
            self._presence_loaded.set()
            return
        try:
            async for entry in watcher:
                if entry is None:  # the current keys are in
                    self._presence_loaded.set()
                    continue
                if entry.operation is not None:  # a delete or an expiry marker: the check decides
                    continue
                group = str(entry.key).partition(".")[0]
                self.presence[group] = self.clock()
                if not self._presence_loaded.is_set() and not entry.delta:
                    self._presence_loaded.set()
                if group in self.stale:
                    self.check_stale()
        finally:
            with contextlib.suppress(Exception):
                await watcher.stop()

    def check_stale(self) -> None:
        """Mark STALE every group with accounts whose presence is older than the bucket's max age;
        clear those heard again."""
        from liqwatch.feeds.events import Status

        if self._sink is None:
            return
        now = self.clock()
        for group, accounts in self.accounts.items():
            stale = now - self.presence.get(group, -float("inf")) > self.ttl
            if stale == (group in self.stale):
                continue
            if stale:
                self.stale.add(group)
            else:
                self.stale.discard(group)
            for name, exchange in accounts.items():
                self._sink(
                    Status(
                        account=name,
                        exchange=exchange,
                        ts=now,
                        state="error" if stale else "connected",
                        channel="feed",
                        detail=stale_detail(group, self.ttl) if stale else "",
                    )
                )

    def take(self, record: dict[str, Any]) -> None:
        """One snapshot record (with its ``group``) into the state."""
        from liqwatch.feeds.events import Status

        assert self._sink is not None
        try:
            events = snapshot_events(record)
        except (ValueError, KeyError, TypeError):
            self.bad_records += 1
            return
        self.received += 1
        group = str(record["group"])
        first = events[0]
        known = self.accounts.setdefault(group, {})
        new = first.account not in known
        known[first.account] = first.exchange
        for event in events:
            self._sink(event)
        if new:
            if group in self.stale:
                self._sink(
                    Status(
                        account=first.account,
                        exchange=first.exchange,
                        ts=self.clock(),
                        state="error",
                        channel="feed",
                        detail=stale_detail(group, self.ttl),
                    )
                )
            else:
                self.check_stale()

    async def _on_snapshot(self, msg: Msg) -> None:
        from liqwatch.bus.source import bus_record

        record = bus_record(msg.subject, msg.data, msg.headers)
        if record is not None and record.get("type") == "snapshot" and NAME.fullmatch(str(record["group"])):
            self.take(record)

    async def _on_alert(self, msg: Msg) -> None:
        from liqwatch.bus.source import bus_record

        record = bus_record(msg.subject, msg.data, msg.headers)
        if record is not None and record.get("type") == "alert" and self.on_alert is not None:
            self.on_alert(record)


def _start_time(since: datetime) -> Any:
    from nats.js.api import ConsumerConfig

    return ConsumerConfig(opt_start_time=since)
