"""Issue #21 point 6: the collateral alerts of a multi-assets account, through the real state store
(AccountMode events with the venue's collateral rows, as the live Binance feed sends them) and the
engine's usual machinery (levels, consecutive counts, hysteresis, cooldowns, the state file).

* ``collateral_depeg``: a held collateral asset's venue price against its reference — 1.0 for a
  USD stablecoin, else another venue's price of the same asset (its marks, its collateral prices)
  — at 2 / 5 / 10 % (critical); an asset without a reference has no rule.
* ``collateral_haircut``: the effective equity more than 10 % below its high of the last hour,
  with no position change (a change restarts the window)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqwatch.alerts.config import AlertRuleConfig
from liqwatch.alerts.engine import AlertEngine
from liqwatch.alerts.model import Alert, default_rule
from liqwatch.alerts.store import AlertStore
from liqwatch.feeds.events import AccountMode, Balance, CollateralRow, MarkPrice, PositionData, Positions
from liqwatch.state import State

T0 = 1_764_000_000.0
LATER = 1_000.0
"""Seconds between two evaluations where a test wants every cooldown (900 s) over."""
BTC_LONG = {"symbol": "BTC/USDT:USDT", "side": "long", "entry_price": 60_000.0, "margin_mode": "cross",
            "leverage": 10.0}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def _rows(usde: float = 1.0, eth: float = 3_000.0, btc: float | None = None) -> list[CollateralRow]:
    rows = [
        CollateralRow(asset="USDT", amount=10_000.0, price=1.0, bid_buffer=0.01, ask_buffer=0.005),
        CollateralRow(asset="USDE", amount=5_000.0, price=usde, bid_buffer=0.02, ask_buffer=0.02),
        CollateralRow(asset="ETH", amount=10.0, price=eth, bid_buffer=0.05, ask_buffer=0.05),
    ]
    if btc is not None:
        rows.append(CollateralRow(asset="BTC", amount=0.1, price=btc, bid_buffer=0.05, ask_buffer=0.05))
    return rows


class Account:
    """A Binance multi-assets account ``main`` (one cross BTC long, marked at 61,000; USDT, USDE and
    ETH collateral), its state store, and the engine evaluating it."""

    def __init__(self, engine: AlertEngine | None = None) -> None:
        self.clock = Clock()
        self.state = State(clock=self.clock)
        self.engine = engine or AlertEngine()
        self.size = 0.5
        self.apply(self.collateral(), Balance(account="main", exchange="binance", ts=T0, wallet_balance=10_000.0))
        self.positions(0.5)
        self.apply(MarkPrice(account="main", exchange="binance", ts=T0, symbol="BTC/USDT:USDT", price=61_000.0))

    def apply(self, *events: Any) -> None:
        for event in events:
            self.state.apply(event)

    def collateral(self, **prices: float) -> AccountMode:
        return AccountMode(
            account="main",
            exchange="binance",
            ts=self.clock.t,
            mode="multi_assets",
            mode_detail="binance multiAssetsMargin true (Multi-Assets Mode)",
            collateral=_rows(**prices),
        )

    def positions(self, size: float) -> None:
        self.size = size
        data = PositionData(**BTC_LONG, size=size)
        self.apply(Positions(account="main", exchange="binance", ts=self.clock.t, positions=[data]))

    def step(self, dt: float = 1.0, **prices: float) -> list[Alert]:
        """``dt`` seconds on, the collateral at ``prices``: what one snapshot fires (each alert
        delivered at once, as ``watch`` does without channels)."""
        self.clock.t += dt
        mark = MarkPrice(account="main", exchange="binance", ts=self.clock.t, symbol="BTC/USDT:USDT", price=61_000.0)
        self.apply(self.collateral(**prices), mark)  # the mark fresh: no stale alert
        fired = self.engine.evaluate(self.state.snapshot(), self.clock.t)
        for alert in fired:
            self.engine.mark_delivered(alert.id, self.clock.t)
        return fired


def _of(alerts: list[Alert], rule: str) -> list[Alert]:
    return [a for a in alerts if a.rule == rule]


def test_the_account_is_valued_from_its_collateral() -> None:
    """The premise: the state store computes the account from its collateral (the view the rules read)."""
    acc = Account()
    (view,) = acc.state.snapshot().accounts
    assert view.collateral_risk is not None
    assert [a.asset for a in view.collateral_risk.assets] == ["USDT", "USDE", "ETH"]
    assert acc.step() == []  # calm: every price at its reference, nothing fires


def test_depeg_fires_at_2_5_and_10_percent_with_hysteresis() -> None:
    acc = Account()
    assert acc.step(usde=0.99) == [] and acc.step(usde=0.99) == []  # 1 %: below every level
    assert acc.step(LATER, usde=0.975) == []  # 2.5 %: the first breach of 2 % (2 in a row needed)
    (warn2,) = acc.step(usde=0.975)
    assert (warn2.rule, warn2.level, warn2.severity, warn2.symbol, warn2.side) == (
        "collateral_depeg",
        "0.02",
        "warning",
        "USDE",
        None,
    )
    assert warn2.value == pytest.approx(0.025) and warn2.threshold == 0.02
    assert warn2.message == (
        "main: collateral USDE at 0.975 on binance, 2.5% below its reference 1 (a USD stablecoin) (≥ 2.0%)"
    )
    assert acc.step(LATER, usde=0.945) == []
    (warn5,) = acc.step(usde=0.945)
    assert (warn5.level, warn5.severity) == ("0.05", "warning")
    (crit,) = acc.step(LATER, usde=0.89)  # critical: the first breach fires
    assert (crit.level, crit.severity, crit.threshold) == ("0.1", "critical", 0.1)
    assert "USDE at 0.89 on binance, 11.0% below" in crit.message
    # 9.7 % is not past the hysteresis (10 % - 0.5 %): the critical level stays fired
    assert acc.step(LATER, usde=0.903) == [] and acc.step(LATER, usde=0.89) == []
    # 9 % is: re-armed, and the next breach fires again (every cooldown over)
    assert acc.step(LATER, usde=0.91) == []
    (again,) = acc.step(LATER, usde=0.89)
    assert again.level == "0.1" and again.id != crit.id


def test_a_price_above_its_reference_is_a_depeg_too() -> None:
    acc = Account()
    acc.step(usde=1.03)
    (alert,) = acc.step(usde=1.03)
    assert alert.level == "0.02" and "USDE at 1.03 on binance, 3.0% above its reference 1" in alert.message


def test_depeg_cooldown_is_respected() -> None:
    """A level that clears and breaches again within its cooldown (900 s) stays quiet; it fires
    once the cooldown is over if still breached."""
    acc = Account()
    acc.step(usde=0.97)
    (first,) = acc.step(usde=0.97)
    assert first.level == "0.02"
    assert acc.step(10, usde=1.0) == []  # cleared: re-armed
    assert acc.step(10, usde=0.97) == [] and acc.step(10, usde=0.97) == []  # breached again: cooling
    assert acc.step(800, usde=0.97) == []  # 830 s after the delivery
    (second,) = acc.step(100, usde=0.97)  # 930 s: the cooldown is over
    assert second.level == "0.02"


def test_no_depeg_rule_for_an_asset_without_a_reference() -> None:
    """ETH is no stablecoin and no other venue's price of it is held: its price is nobody's
    reference (not even Binance's own marks), so however far it moves no depeg fires, and nothing
    says so."""
    acc = Account()
    acc.apply(MarkPrice(account="main", exchange="binance", ts=T0, symbol="ETH/USDT:USDT", price=3_000.0))
    for _ in range(3):
        assert _of(acc.step(LATER, eth=1_500.0), "collateral_depeg") == []


def test_the_reference_is_another_venues_mark_of_the_same_asset() -> None:
    """BTC collateral at 57,000 on Binance while OKX marks BTC/USDT:USDT at 61,000 (Binance's own
    BTC mark, 61,000 too, is no reference): 6.6 % below, the 5 % level."""
    acc = Account()
    assert _of(acc.step(btc=57_000.0) + acc.step(btc=57_000.0), "collateral_depeg") == []  # no reference yet
    okx = {"account": "other", "exchange": "okx", "ts": acc.clock.t}
    data = PositionData(symbol="BTC/USDT:USDT", side="short", size=0.1, entry_price=61_000.0, margin_mode="cross")
    acc.apply(Positions(**okx, positions=[data]), MarkPrice(**okx, symbol="BTC/USDT:USDT", price=61_000.0))
    assert acc.step(btc=57_000.0) == []
    (alert,) = acc.step(btc=57_000.0)
    assert (alert.account, alert.symbol, alert.level) == ("main", "BTC", "0.05")
    assert alert.value == pytest.approx(4_000 / 61_000)
    assert alert.message == (
        "main: collateral BTC at 57,000 on binance, 6.6% below its reference 61,000 (okx's price) (≥ 5.0%)"
    )


def test_a_stale_mark_is_no_reference() -> None:
    acc = Account()
    okx = {"account": "other", "exchange": "okx", "ts": acc.clock.t}
    data = PositionData(symbol="BTC/USDT:USDT", side="short", size=0.1, entry_price=61_000.0, margin_mode="cross")
    acc.apply(Positions(**okx, positions=[data]), MarkPrice(**okx, symbol="BTC/USDT:USDT", price=61_000.0))
    # 10 s later OKX's mark (1 s stream) is stale: no reference, no depeg
    assert _of(acc.step(10, btc=57_000.0) + acc.step(btc=57_000.0), "collateral_depeg") == []


def test_haircut_fires_on_a_fall_without_a_position_change() -> None:
    """ETH collateral 3,000 -> 2,400 within the hour: effective equity 43,795 -> 38,095 USD
    ((10,000 + 500 uPnL) x 0.99 + 5,000 x 0.98 + 10 x ETH x 0.95), 13.0 % down."""
    acc = Account()
    assert acc.step(eth=3_000.0) == []
    (view,) = acc.state.snapshot().accounts
    assert view.collateral_risk is not None
    high = 10_500 * 0.99 + 5_000 * 0.98 + 30_000 * 0.95
    assert view.collateral_risk.effective_equity == pytest.approx(high) == pytest.approx(43_795)
    assert acc.step(600, eth=2_700.0) == []  # 6.5 %: under 10 %
    assert acc.step(600, eth=2_400.0) == []  # 13.0 %: the first breach
    (alert,) = acc.step(1, eth=2_400.0)
    low = high - 6_000 * 0.95
    assert (alert.rule, alert.level, alert.severity, alert.symbol) == ("collateral_haircut", "0.1", "warning", None)
    assert alert.value == pytest.approx((high - low) / high) and alert.threshold == 0.1
    assert alert.message == (
        "main: effective equity 38,095 USD is 13.0% below its high of the last 1 h (43,795 USD) with no position "
        "change (≥ 10.0%); down most: ETH 5,700 USD; collateral 39,500 USD before haircuts"
    )
    assert acc.step(1, eth=2_300.0) == []  # fired: staying beyond the level never re-fires


def test_no_haircut_when_a_position_changed() -> None:
    """The same prices, but the position is resized half-way: the window restarts there, and from
    2,700 to 2,400 the equity falls 7.0 %, under the level."""
    acc = Account()
    acc.step(eth=3_000.0)
    acc.step(600, eth=2_700.0)
    acc.positions(0.6)
    assert acc.step(1, eth=2_700.0) == []
    assert acc.step(600, eth=2_400.0) == [] and acc.step(1, eth=2_400.0) == []


def test_no_haircut_when_a_collateral_balance_changed() -> None:
    """A transfer out (USDE 5,000 -> 0) is the owner's, not a haircut: the window restarts."""
    acc = Account()
    acc.step(eth=3_000.0)
    acc.engine.evaluate(acc.state.snapshot(), acc.clock.t)
    rows = [r for r in _rows() if r.asset != "USDE"]
    acc.apply(acc.collateral().model_copy(update={"collateral": rows}))
    for _ in range(3):
        acc.clock.t += 1
        assert acc.engine.evaluate(acc.state.snapshot(), acc.clock.t) == []


def test_no_haircut_when_the_fall_took_longer_than_the_window() -> None:
    acc = Account()
    acc.step(eth=3_000.0)
    assert acc.step(3_601, eth=2_400.0) == [] and acc.step(1, eth=2_400.0) == []


def test_the_haircut_window_and_levels_are_configurable() -> None:
    rule = AlertRuleConfig(rule="collateral_haircut", levels=[0.05], window_seconds=600).to_rule()
    assert (rule.levels, rule.window, rule.critical) == ((0.05,), 600.0, 0.05)
    acc = Account(AlertEngine([rule]))
    acc.step(eth=3_000.0)
    assert acc.step(700, eth=2_700.0) == []  # 6.5 %, but the high is 700 s old: out of the window
    acc.step(1, eth=3_000.0)
    (alert,) = acc.step(100, eth=2_700.0)  # 6.5 % within 100 s: the only level, critical, fires at once
    assert (alert.level, alert.severity) == ("0.05", "critical")
    assert "below its high of the last 600 s (43,795 USD)" in alert.message


def test_the_config_keys() -> None:
    depeg = AlertRuleConfig(rule="collateral_depeg", levels=[0.01, 0.03], symbol="USDE").to_rule()
    assert (depeg.levels, depeg.critical, depeg.symbol, depeg.hysteresis) == ((0.01, 0.03), 0.03, "USDE", 0.005)
    assert default_rule("collateral_depeg").levels == (0.02, 0.05, 0.10)
    assert default_rule("collateral_depeg").critical == 0.10
    assert (default_rule("collateral_haircut").levels, default_rule("collateral_haircut").window) == ((0.1,), 3600.0)
    with pytest.raises(ValueError, match="collateral_depeg levels are fractions"):
        AlertRuleConfig(rule="collateral_depeg", levels=[5])
    with pytest.raises(ValueError, match="window_seconds is a collateral_haircut setting"):
        AlertRuleConfig(rule="collateral_depeg", window_seconds=60)


def test_depeg_state_survives_a_restart(tmp_path: Path) -> None:
    """The fired critical level and its delivery go to the state file; a new engine from it stays
    quiet on the same depeg (the delivery is within the cooldown), and re-armed it fires again."""
    acc = Account()
    (crit,) = acc.step(usde=0.85)
    assert crit.level == "0.1"
    store = AlertStore(tmp_path / "alerts.json")
    store.save(acc.engine.state)
    saved = json.loads(store.path.read_text())["engine"]
    assert any("USDE" in key and key.endswith("collateral_depeg") for key in saved["levels"])
    acc.engine = AlertEngine(state=AlertStore(store.path).load_engine_state())
    assert acc.step(10, usde=0.85) == []
    assert acc.step(LATER, usde=1.0) == []
    (again,) = acc.step(LATER, usde=0.85)
    assert again.level == "0.1"


@settings(max_examples=40)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=1.0, max_value=1_200.0),
            st.floats(min_value=0.8, max_value=1.1),
            st.floats(min_value=1_500.0, max_value=3_500.0),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_no_level_fires_twice_within_its_cooldown(steps: list[tuple[float, float, float]]) -> None:
    acc = Account()
    last: dict[tuple[str, str | None, str], float] = {}
    for dt, usde, eth in steps:
        for alert in acc.step(dt, usde=usde, eth=eth):
            key = (alert.rule, alert.symbol, alert.level)
            cooldown = default_rule(alert.rule).cooldown  # type: ignore[arg-type]
            assert key not in last or alert.ts - last[key] >= cooldown
            last[key] = alert.ts


# ---------------------------------------------------------------------- the live path


def test_a_live_binance_usdt_depeg_in_watch_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`liqwatch watch` against the fake Binance in Multi-Assets Mode (real ccxt and websockets):
    /fapi/v1/assetIndex quotes USDTUSD at 0.94 (6 % below 1.0), and watch prints a collateral_depeg
    warning for the account's USDT, at the 5 % level."""
    from liqwatch.cli import build_parser
    from liqwatch.watch import run_watch
    from tests.fakes.rest_server import DEFAULT_KEY, FakeRestServer
    from tests.fakes.ws_server import WAIT_TIMEOUT, FakeWsServer

    monkeypatch.setenv("LW_TEST_KEY", DEFAULT_KEY)
    monkeypatch.setenv("LW_TEST_SECRET", "fake-secret-abcdef123456")
    monkeypatch.setenv("LIQWATCH_STATE_DIR", str(tmp_path / "state"))

    class Lines(io.StringIO):
        def __init__(self, found: asyncio.Event) -> None:
            super().__init__()
            self.found = found

        def write(self, text: str) -> int:
            if '"collateral_depeg"' in text:
                self.found.set()
            return super().write(text)

    async def body() -> str:
        async with FakeRestServer("binance") as rest, FakeWsServer("binance") as ws:
            rest.set_mode("multi_assets")
            rows = [dict(r) for r in rest.data["assetIndex"]]
            for row in rows:
                if row["symbol"] == "USDTUSD":
                    row["index"] = "0.94000000"
            rest.set("assetIndex", rows)
            config = tmp_path / "config.toml"
            config.write_text(
                f'[[accounts]]\nname = "main"\nexchange = "binance"\napi_key_env = "LW_TEST_KEY"\n'
                f'api_secret_env = "LW_TEST_SECRET"\nrest_url = "{rest.url}"\nws_url = "{ws.url}"\n'
                "reconcile_seconds = 0.3\n"
            )
            config.chmod(0o600)
            args = build_parser().parse_args(["watch", "--config", str(config), "--no-market", "--interval", "0.05"])
            found = asyncio.Event()
            out = Lines(found)
            task = asyncio.create_task(run_watch(args, out, err=io.StringIO()))
            try:
                await asyncio.wait_for(found.wait(), 2 * WAIT_TIMEOUT)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            return out.getvalue()

    lines = [json.loads(line) for line in asyncio.run(body()).splitlines()]
    (alert,) = [line for line in lines if line.get("rule") == "collateral_depeg"]
    assert alert["type"] == "alert" and alert["account"] == "main" and alert["symbol"] == "USDT"
    assert (alert["level"], alert["severity"], alert["threshold"]) == ("0.05", "warning", 0.05)
    assert alert["value"] == pytest.approx(0.06)
    assert alert["message"] == (
        "main: collateral USDT at 0.94 on binance, 6.0% below its reference 1 (a USD stablecoin) (≥ 5.0%)"
    )


class PortfolioAccount:
    """A Binance portfolio-margin account ``pm``: its coins and its effective equity as the venue
    reports them (``GET /papi/v1/balance``, the collateral rates, ``accountEquity``); liqwatch
    computes no figure of its own there, and the collateral alerts run on the venue's rows."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.state = State(clock=self.clock)
        self.engine = AlertEngine()
        data = PositionData(**BTC_LONG, size=0.5)
        self.state.apply(Positions(account="pm", exchange="binance", ts=T0, positions=[data]))

    def step(self, dt: float = 1.0, usde: float = 1.0, equity: float = 20_000.0) -> list[Alert]:
        self.clock.t += dt
        rows = [
            CollateralRow(asset="USDT", amount=10_000.0, price=1.0, ratio=1.0),
            CollateralRow(asset="USDE", amount=10_000.0, price=usde, ratio=0.95),
        ]
        for event in (
            AccountMode(
                account="pm",
                exchange="binance",
                ts=self.clock.t,
                mode="portfolio",
                mode_detail="binance isPortfolioMarginRetailEnabled true (portfolio margin, papi)",
                margin_ratio_venue=0.2,
                venue_inputs={"uniMMR": 5.0, "accountEquity": equity},
                collateral=rows,
            ),
            MarkPrice(account="pm", exchange="binance", ts=self.clock.t, symbol="BTC/USDT:USDT", price=61_000.0),
        ):
            self.state.apply(event)
        fired = self.engine.evaluate(self.state.snapshot(), self.clock.t)
        for alert in fired:
            self.engine.mark_delivered(alert.id, self.clock.t)
        return fired


def test_a_portfolio_accounts_venue_collateral_runs_the_collateral_alerts() -> None:
    """Issue #21 point 6 on a portfolio account: the coins the venue reports are collateral too —
    a stablecoin's depeg on the venue's books fires ``collateral_depeg``, and the venue's effective
    equity falling a tenth within the hour, with no position change, fires ``collateral_haircut``."""
    acc = PortfolioAccount()
    assert acc.step() == [] and acc.step() == []  # calm
    (view,) = acc.state.snapshot().accounts
    assert view.collateral_risk is None and view.collateral_venue is not None  # the venue's rows, not ours
    assert view.data_status == "ok"
    acc.step(LATER, usde=0.93)
    (depeg,) = _of(acc.step(usde=0.93), "collateral_depeg")  # 7 % below 1.0, twice in a row
    assert (depeg.account, depeg.symbol, depeg.level) == ("pm", "USDE", "0.05")
    assert depeg.message.startswith("pm: collateral USDE at 0.93 on binance, 7.0% below its reference 1")
    acc.step(LATER, usde=0.93, equity=20_000.0)
    acc.step(usde=0.93, equity=17_500.0)
    haircut = _of(acc.step(usde=0.93, equity=17_500.0), "collateral_haircut")
    assert [a.account for a in haircut] == ["pm"] and "17,500" in haircut[0].message
