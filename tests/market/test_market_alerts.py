"""The issue #13 alert rules: insurance_drawdown, adl_risk, mark_index_divergence (on market
reports) and funding (on position records carrying ``funding.liquidation_price_after``), with the
engine's levels, hysteresis and cooldowns; and their [[alerts]] validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from liqwatch.alerts.config import AlertRuleConfig, build_engine
from liqwatch.alerts.engine import AlertEngine
from liqwatch.alerts.model import default_rule
from liqwatch.market.model import AdlRisk, InsurancePool, MarketReport, SymbolMarket


def report(dd: float | None = None, adl: str | None = None, div: float | None = None) -> MarketReport:
    r = MarketReport(exchange="bybit", ts=0.0)
    if dd is not None:
        r.insurance = [
            InsurancePool(
                pool="USDT shared BTCUSDT",
                asset="USDT",
                symbols=["BTCUSDT"],
                balance=1e8 * (1 - dd),
                drawdown_8h=dd,
                source="t",
            )
        ]
    if adl is not None:
        r.adl_risk = [AdlRisk(symbol="BTC/USDT:USDT", level=adl, detail="d", source="t")]  # type: ignore[arg-type]
    if div is not None:
        r.symbols = [SymbolMarket(symbol="BTC/USDT:USDT", mark_price=100 * (1 + div), index_price=100.0)]
    return r


def levels(engine: AlertEngine, reports: list[MarketReport], step: float = 10.0) -> list[tuple[str, str, str]]:
    out = []
    for i, r in enumerate(reports):
        for a in engine.evaluate_market(r, i * step):
            engine.mark_delivered(a.id, i * step)
            out.append((a.rule, a.level, a.severity))
    return out


def test_defaults() -> None:
    assert default_rule("insurance_drawdown").levels == (0.10, 0.20, 0.30)
    assert default_rule("mark_index_divergence").levels == (0.005, 0.01, 0.02)
    assert default_rule("adl_risk").levels == (1, 2)
    assert default_rule("funding").levels == (0.1,)


def test_insurance_drawdown_escalates_and_rearms_with_hysteresis() -> None:
    engine = AlertEngine()
    seq = [report(dd=x) for x in (0.05, 0.12, 0.15, 0.22, 0.31, 0.29, 0.05, 0.11)]
    fired = levels(engine, seq, step=1000.0)
    assert fired == [
        ("insurance_drawdown", "0.1", "warning"),
        ("insurance_drawdown", "0.2", "warning"),
        ("insurance_drawdown", "0.3", "critical"),
        ("insurance_drawdown", "0.1", "warning"),  # re-armed below 0.08, breached again (cooldown over)
    ]


def test_insurance_drawdown_cooldown() -> None:
    engine = AlertEngine()
    fired = levels(engine, [report(dd=x) for x in (0.12, 0.0, 0.12)], step=10.0)
    assert fired == [("insurance_drawdown", "0.1", "warning")]  # 900 s cooldown


def test_adl_risk_near_then_active() -> None:
    engine = AlertEngine()
    fired = levels(engine, [report(adl=x) for x in ("none", "near", "near", "active", "low", "high")], step=1000.0)
    assert fired == [("adl_risk", "1", "warning"), ("adl_risk", "2", "critical"), ("adl_risk", "1", "warning")]


def test_divergence_needs_two_breaches_and_uses_absolute_value() -> None:
    engine = AlertEngine()
    fired = levels(engine, [report(div=x) for x in (-0.006, 0.001, -0.006, -0.007, -0.012, -0.025)])
    assert fired == [
        ("mark_index_divergence", "0.005", "warning"),
        ("mark_index_divergence", "0.02", "critical"),  # critical fires at once; 1% is covered by it
    ]


def test_account_scope_is_the_exchange() -> None:
    engine = build_engine([AlertRuleConfig(rule="insurance_drawdown", account="binance", enabled=False)])
    assert levels(engine, [report(dd=0.5)]) == [("insurance_drawdown", "0.3", "critical")]  # bybit still on
    engine = build_engine([AlertRuleConfig(rule="insurance_drawdown", account="bybit", enabled=False)])
    assert levels(engine, [report(dd=0.5)]) == []


def record(lp: float, after: list[float] | None, mark: float = 100.0) -> dict[str, Any]:
    out: dict[str, Any] = {
        "account": "main",
        "symbol": "BTC/USDT:USDT",
        "side": "long",
        "mark_price": mark,
        "liquidation_price": lp,
    }
    if after is not None:
        out["funding"] = {"rate": 0.001, "next_time": 0.0, "next_payment": -1.0, "liquidation_price_after": after}
    return out


def test_funding_rule_on_records_that_carry_it() -> None:
    engine = AlertEngine()
    # distance 20; a payment moving the LP by 1 (5%) is calm, by 3 (15%) fires
    assert engine.evaluate_funding([record(80.0, [81.0, 82.0, 83.0])], 0.0) == []
    (alert,) = engine.evaluate_funding([record(80.0, [83.0, 86.0, 89.0])], 10.0)
    assert (alert.rule, alert.level, alert.account, alert.symbol, alert.side) == (
        "funding",
        "0.1",
        "main",
        "BTC/USDT:USDT",
        "long",
    )
    assert alert.value == pytest.approx(0.15)
    assert "80 → 83" in alert.message
    assert engine.evaluate_funding([record(80.0, [83.0])], 20.0) == []  # fired: stays quiet


def test_funding_rule_skips_records_without_it() -> None:
    engine = AlertEngine()
    bad = [
        record(80.0, None),
        record(80.0, []),
        {**record(80.0, [90.0]), "liquidation_price": None},
        record(100.0, [101.0]),
    ]  # zero distance
    assert engine.evaluate_funding(bad, 0.0) == []


@pytest.mark.parametrize(
    ("rule", "levels_", "says"),
    [
        ("insurance_drawdown", [10], "fractions"),
        ("mark_index_divergence", [0], "fractions"),
        ("adl_risk", [3], "adl_risk levels are 1"),
        ("funding", [2], "fractions"),
    ],
)
def test_config_levels_validated(rule: str, levels_: list[float], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        AlertRuleConfig(rule=rule, levels=levels_)  # type: ignore[arg-type]
