"""What liqwatch reads about a venue's backstop and market: insurance pools, ADL risk, and per
symbol the mark, index and funding. pydantic at the payload boundary: every venue adapter
(``liqwatch/venues/<venue>/market.py``) returns these validated models, never raw payloads.

:meth:`MarketReport.record` is the ``{"type": "market", ...}`` line ``liqwatch watch`` prints;
its keys are the issue's, exactly.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from liqwatch.market.compute import divergence

AdlLevel = Literal["low", "medium", "high", "near", "active", "ended", "none"]
"""``low``/``medium``/``high``: Binance's own rating. ``near``: Bybit's pnlRatio within
:data:`liqwatch.market.compute.ADL_NEAR` of its trigger. ``active``: ADL is running (Bybit pool
balance <= 0 or the drawdown trigger met; OKX ``*_adl_start``). ``ended``: OKX ``adl_end``.
``none``: the venue says nothing is happening (Bybit far from its trigger; OKX no adlType)."""

ADL_SEVERITY: dict[str, int] = {"none": 0, "low": 0, "ended": 0, "medium": 0, "high": 1, "near": 1, "active": 2}
"""What the ``adl_risk`` alert rule compares: 1 = close to ADL (venue rating high, Bybit within
0.05 of its trigger), 2 = ADL active."""

PoolKind = Literal["insurance", "vault"]


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class InsurancePool(BaseModel):
    """One insurance pool in one asset. ``pool`` is a stable name within the venue (the history's
    key): Binance ``pool <first symbol>``, Bybit ``<coin> isolated <symbol>`` or ``<coin> shared
    <first symbol>`` (a comma-joined ``symbols`` list is a shared pool), OKX the instFamily, Gate
    the settle currency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pool: str = Field(min_length=1)
    asset: str = Field(min_length=1)
    symbols: list[str] = Field(default_factory=list)
    """Venue symbol ids the pool backs ([] when the venue does not say)."""
    balance: float
    """In ``asset``."""
    balance_usd: float | None = None
    """The venue's own USD figure (Bybit ``value``, OKX ``total``), or the balance itself for a
    USD stablecoin; None where neither is known."""
    shared: bool | None = None
    """Bybit: several symbols share the pool (updated daily) vs one symbol's isolated pool (each
    minute). None where the venue has no such distinction."""
    kind: PoolKind = "insurance"
    """``vault``: not an insurance fund (Hyperliquid's HLP, its backstop)."""
    max_8h: float | None = None
    """The venue's own 8-hour maximum where it publishes one (OKX ``maxBal``)."""
    change_24h: float | None = None
    """Filled from the history (:mod:`liqwatch.market.compute`), fraction: -0.05 = down 5%."""
    change_7d: float | None = None
    drawdown_8h: float | None = None
    """1 - balance / max(balance over the last 8 h), in [0, 1]."""
    source: str
    as_of: float | None = None
    """The venue's timestamp (s) of the figure; None where it gives none."""

    @field_validator("balance")
    @classmethod
    def _balance(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("balance must be a finite number")
        return value

    def record(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "asset": self.asset,
            "symbols": list(self.symbols),
            "balance": self.balance,
            "balance_usd": _finite(self.balance_usd),
            "change_24h": _finite(self.change_24h),
            "drawdown_8h": _finite(self.drawdown_8h),
            "source": self.source,
            "as_of": self.as_of,
        }


class AdlRisk(BaseModel):
    """The venue's own ADL signal for one symbol (or pool)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str = Field(min_length=1)
    """Unified symbol where the market is loaded, else the venue's id."""
    level: AdlLevel
    detail: str
    source: str
    as_of: float | None = None
    pnl_ratio: float | None = None
    """Bybit: the symbol's pnlRatio; its trigger and stop below."""
    trigger_ratio: float | None = None
    stop_ratio: float | None = None

    @property
    def severity(self) -> int:
        return ADL_SEVERITY[self.level]

    def record(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "level": self.level,
            "detail": self.detail,
            "source": self.source,
            "as_of": self.as_of,
        }


class SymbolMarket(BaseModel):
    """Mark, index and funding of one perpetual."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str = Field(min_length=1)
    mark_price: float | None = None
    index_price: float | None = None
    funding_rate: float | None = None
    """Per interval, fraction (0.0001 = 0.01%)."""
    next_funding_time: float | None = None
    """Seconds since the epoch."""
    funding_interval_h: float | None = None
    source: str = ""
    as_of: float | None = None

    @property
    def divergence(self) -> float | None:
        """(mark - index) / index; None unless both are known (``market.compute.divergence``)."""
        return divergence(self.mark_price, self.index_price)

    def record(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "mark_price": _finite(self.mark_price),
            "index_price": _finite(self.index_price),
            "divergence": _finite(self.divergence),
            "funding_rate": _finite(self.funding_rate),
            "next_funding_time": self.next_funding_time,
            "funding_interval_h": _finite(self.funding_interval_h),
        }


class MarketReport(BaseModel):
    """Everything one read of a venue's market gave. ``problems`` are one line each (a missing or
    malformed field, a failed endpoint): what could be read is kept, nothing else is lost."""

    model_config = ConfigDict(extra="forbid")

    exchange: str
    ts: float
    insurance: list[InsurancePool] = Field(default_factory=list)
    adl_risk: list[AdlRisk] = Field(default_factory=list)
    symbols: list[SymbolMarket] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    """What the venue does not publish (Hyperliquid has no fund, Bitget none public)."""
    problems: list[str] = Field(default_factory=list)

    def pool_of(self, symbol: str) -> InsurancePool | None:
        """The pool backing ``symbol`` (a unified ``BASE/QUOTE:SETTLE`` symbol, or a venue id): a
        pool listing its venue id (``BTCUSDT``, ``BTC-USDT``, ``BTC_USDT``), the pool named by its
        instrument family (OKX), else the venue's one pool that lists no symbols (Gate's, HLP);
        None when no pool says. The dashboard shows this pool beside each position."""
        base, _, rest = symbol.partition("/")
        quote = rest.split(":", 1)[0]
        ids = {symbol} | ({f"{base}{quote}", f"{base}-{quote}", f"{base}_{quote}"} if quote else set())
        for pool in self.insurance:
            if ids.intersection(pool.symbols) or pool.pool in ids:
                return pool
        unlisted = [p for p in self.insurance if not p.symbols]
        return unlisted[0] if len({p.pool for p in unlisted}) == 1 else None

    def record(self) -> dict[str, Any]:
        """The ``liqwatch watch`` line (keys exactly as issue #13 spells them)."""
        return {
            "type": "market",
            "ts": self.ts,
            "exchange": self.exchange,
            "insurance": [p.record() for p in self.insurance],
            "adl_risk": [a.record() for a in self.adl_risk],
            "symbols": [s.record() for s in self.symbols],
        }

    def full_record(self) -> dict[str, Any]:
        """``liqwatch market --json``: the watch line plus 7-day change, pool kind and membership,
        Bybit ratios, notes and problems."""
        out = self.record()
        for row, pool in zip(out["insurance"], self.insurance, strict=True):
            row.update(
                change_7d=_finite(pool.change_7d), shared=pool.shared, kind=pool.kind, max_8h=_finite(pool.max_8h)
            )
        for row, adl in zip(out["adl_risk"], self.adl_risk, strict=True):
            row.update(pnl_ratio=adl.pnl_ratio, trigger_ratio=adl.trigger_ratio, stop_ratio=adl.stop_ratio)
        out["notes"] = list(self.notes)
        out["problems"] = list(self.problems)
        return out
