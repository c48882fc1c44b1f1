"""Shared by the alert tests: a fake clock, snapshots built from real state-store views with the
risk values a test needs, a scripted run through the engine, and a ready-made alert."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Any

from liqwatch.alerts.engine import AlertEngine
from liqwatch.alerts.model import Alert
from liqwatch.feeds.events import MarkPrice, PositionData, Positions
from liqwatch.state import AccountView, PositionView, Snapshot, State


class Clock:
    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def btc_isolated_state(clock: Clock) -> State:
    """A state store holding one position: a binance BTC isolated long (1 at 60,000, 10x, margin
    6,000), marked at 59,000 at ts 1."""
    state = State(clock)
    data = PositionData(
        symbol="BTC/USDT:USDT",
        side="long",
        size=1.0,
        entry_price=60_000.0,
        margin_mode="isolated",
        leverage=10.0,
        isolated_margin=6000.0,
    )
    state.apply(Positions(account="a", exchange="binance", ts=1.0, positions=[data]))
    state.apply(MarkPrice(account="a", exchange="binance", ts=1.0, symbol="BTC/USDT:USDT", price=59_000.0))
    return state


@cache
def _base() -> tuple[AccountView, PositionView]:
    """A real account and position view from the state store (binance, BTC isolated), whose risk
    the helpers below then set to the values a test needs."""
    state = btc_isolated_state(Clock())
    snap = state.snapshot()
    assert snap.positions[0].risk is not None
    return snap.accounts[0], snap.positions[0]


def pos(
    account: str = "a",
    symbol: str = "BTC/USDT:USDT",
    side: str = "long",
    *,
    mr: float | None = 0.1,
    dist: float | None = 0.5,
    lights: int = 1,
    tier: int = 1,
    stale: bool = False,
    mode: str = "isolated",
) -> PositionView:
    _, view = _base()
    risk = view.risk
    assert risk is not None
    risk = replace(
        risk,
        margin_ratio=mr,
        distance_to_liquidation=dist,
        adl=replace(risk.adl, lights=lights),
        tier=replace(risk.tier, index=tier),
    )
    data = view.data.model_copy(update={"symbol": symbol, "side": side, "margin_mode": mode})
    return PositionView(account, "binance", data, view.mark_price, 0.0, stale, risk)


def snap(*views: PositionView, cross: dict[str, float | None] | None = None, ts: float = 0.0) -> Snapshot:
    """A snapshot of ``views``; ``cross`` sets accounts' cross margin ratios."""
    acc0, _ = _base()
    assert acc0.risk is not None
    names = list(dict.fromkeys([v.account for v in views] + list(cross or {})))
    accounts = []
    for name in names:
        ratio = (cross or {}).get(name)
        risk = replace(acc0.risk, account=replace(acc0.risk.account, cross_margin_ratio=ratio))
        accounts.append(AccountView(name, "binance", 1000.0, risk, {}, "", False))
    return Snapshot(ts, accounts, list(views))


def bankrupt() -> Snapshot:
    view = pos(mr=None)
    assert view.risk is not None
    view.risk = replace(view.risk, status="bankrupt")
    return snap(view)


def run_values(engine: AlertEngine, make: Any, values: list[Any], dt: float = 1.0) -> list[tuple[int, str]]:
    """Feed one value per step; returns (step, level) for each alert."""
    fired = []
    for i, value in enumerate(values):
        for alert in engine.evaluate(make(value), i * dt):
            fired.append((i, alert.level))
    return fired


def make_alert(n: int = 1, severity: str = "warning") -> Alert:
    return Alert(
        id=f"t-{n}",
        ts=float(n),
        account="a",
        symbol="BTC/USDT:USDT",
        rule="margin_ratio",
        level="0.7",
        value=0.71,
        threshold=0.7,
        message=f"alert {n}",
        severity=severity,  # type: ignore[arg-type]
    )
