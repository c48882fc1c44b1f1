"""The embedded demo market: a sample multi-venue portfolio on a simulated mark-price path.

No keys, no network. Four accounts (Binance cross + isolated with hedge legs and a position near a
bracket boundary, Bybit isolated + cross, Hyperliquid cross + isolated, and a Binance Multi-Assets
account whose collateral is USDT, a USD stablecoin USDE and BTC) trade six symbols whose
marks follow a seeded random walk with a common market factor, per-symbol beta and a scripted crash
that starts 25 s in (simulated time): margin ratios climb, alerts fire, the highest-leverage
positions liquidate (the simulated venue closes them, so the monitor sees them vanish) and ADL
lights change. In the crash USDE loses a third of its value on the simulated Binance's own index
(as USDe did on Binance on 10 October 2025) while the multi-assets account's positions, a hedged
pair, barely move: its card turns danger with every liquidation price far from its mark.
Deterministic for a given seed: prices depend only on the seed and the tick number, never on the
wall clock. ``speed`` runs simulated seconds faster than real ones.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from liqwatch.core.collateral import CollateralAsset, account_margin_ratio, assess_collateral
from liqwatch.core.engine import assess, liquidation_prices
from liqwatch.core.model import PositionSpec
from liqwatch.core.solver import Leg, requirement
from liqwatch.core.tiers import TierTable, build_table
from liqwatch.core.venues import get_venue
from liqwatch.feeds.base import Sink
from liqwatch.markets import bundled_only, find_market

if TYPE_CHECKING:  # the events' pydantic models load with the first event, after the dashboard's first frame
    from pydantic import BaseModel

    from liqwatch.feeds.events import AccountMode, Balance, Event, MarkPrice, PositionData, Positions, Tiers

    M = TypeVar("M", bound=BaseModel)

CRASH_START = 25.0
"""Simulated seconds after start when the scripted crash begins."""
CRASH_SECONDS = 15.0
CRASH_DEPTH = 0.10
"""The market factor's fall over the crash (before beta), then a partial rebound."""
REBOUND_SECONDS = 30.0
REBOUND = 0.04
SNAPSHOT_EVERY = 5
"""Ticks between full position snapshots (as a venue's REST reconciliation would give)."""
DEPEG = 1.0 / 3.0
"""The share of its value USDE loses on the simulated Binance's index in the crash."""
DEPEG_SECONDS = 8.0
"""How long its fall takes from the crash's start; it holds there to the crash's end, then
recovers to 1 over the rebound."""


def trusted(cls: type[M]) -> Callable[..., M]:
    """A constructor of ``cls`` (a frozen pydantic model of scalar fields) for values the simulation
    made itself, already of the fields' types: the instance validation gives (same fields, order,
    defaults and fields set; equal, same JSON), without validating. 500 symbols' marks a second for
    each account were the demo's largest cost as validated events (issue #22). Keyword arguments
    only, every required field given (tests compare with validation on the demo's own output)."""
    template: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            raise TypeError(f"{cls.__name__}.{name}: a default factory (a mutable default)")
        template[name] = None if info.is_required() else info.default
    if cls.__private_attributes__ or cls.model_config.get("extra") == "allow":
        raise TypeError(f"{cls.__name__}: private or extra attributes")
    new = cls.__new__
    put = object.__setattr__

    def build(**values: Any) -> M:
        obj = new(cls)
        data = template.copy()
        data.update(values)  # every key is a field: the declared order stays
        put(obj, "__dict__", data)
        put(obj, "__pydantic_fields_set__", set(values))
        put(obj, "__pydantic_extra__", None)
        put(obj, "__pydantic_private__", None)
        return obj

    return build


@dataclass(slots=True)
class DemoSymbol:
    symbol: str
    start: float
    beta: float
    vol: float
    """Per-second volatility of the symbol's own noise."""


@dataclass(slots=True)
class DemoPosition:
    symbol: str
    side: str
    size: float
    entry: float
    leverage: float
    margin_mode: str = "cross"
    position_side: str = "both"


@dataclass(slots=True)
class DemoCollateral:
    """One collateral asset of a multi-assets account, valued at the simulated venue's index with
    its bid/ask buffers (Binance ``/fapi/v1/assetIndex``). Its price: 1 for a USD stablecoin
    (``depegs``: scripted to lose :data:`DEPEG` in the crash), else the mark of its coin."""

    asset: str
    amount: float
    bid_buffer: float
    ask_buffer: float
    depegs: bool = False


@dataclass(slots=True)
class DemoAccount:
    name: str
    exchange: str
    wallet: float
    positions: list[DemoPosition]
    venue_adl: bool = False
    """Whether this venue reports ADL lights itself (Binance, Bybit) or liqwatch estimates them."""
    extra_tiers: dict[str, TierTable] = field(default_factory=dict)
    collateral: list[DemoCollateral] = field(default_factory=list)
    """A ``multi_assets`` account's collateral ([]: a single-collateral account, ``wallet`` its
    settle currency's). The USDT row's amount is its ``wallet``."""

    @property
    def multi_assets(self) -> bool:
        return bool(self.collateral)


SYMBOLS = [
    DemoSymbol("BTC", 64_000.0, 1.0, 0.0012),
    DemoSymbol("ETH", 3_150.0, 1.2, 0.0015),
    DemoSymbol("SOL", 151.2, 1.45, 0.0020),
    DemoSymbol("DOGE", 0.1612, 1.35, 0.0022),
    DemoSymbol("XRP", 0.62, 1.5, 0.0021),
    DemoSymbol("BNB", 590.0, 0.9, 0.0013),
]


def sample_accounts() -> list[DemoAccount]:
    return [
        DemoAccount(
            "demo-binance",
            "binance",
            14_000.0,
            [
                DemoPosition("BTC/USDT:USDT", "long", 1.2, 63_400.0, 20),
                DemoPosition("ETH/USDT:USDT", "short", 12.0, 3_120.0, 10),
                # 660 SOL at 151.2: notional ~99,800, just under the 100,000 tier-3 floor
                DemoPosition("SOL/USDT:USDT", "long", 660.0, 151.2, 15, "isolated"),
                DemoPosition("DOGE/USDT:USDT", "long", 60_000.0, 0.1640, 10, "isolated", "long"),
                DemoPosition("DOGE/USDT:USDT", "short", 25_000.0, 0.1575, 10, "isolated", "short"),
                DemoPosition("XRP/USDT:USDT", "long", 40_000.0, 0.625, 25, "isolated"),
            ],
            venue_adl=True,
        ),
        DemoAccount(
            "demo-bybit",
            "bybit",
            6_000.0,
            [
                DemoPosition("BTC/USDT:USDT", "long", 0.5, 64_300.0, 25, "isolated"),
                DemoPosition("ETH/USDT:USDT", "long", 8.0, 3_080.0, 10),
            ],
            venue_adl=True,
        ),
        DemoAccount(
            "demo-hyperliquid",
            "hyperliquid",
            9_000.0,
            [
                DemoPosition("BTC/USDC:USDC", "short", 0.4, 62_100.0, 10),
                DemoPosition("ETH/USDC:USDC", "long", 15.0, 3_050.0, 12),
                DemoPosition("SOL/USDC:USDC", "long", 220.0, 152.0, 10, "isolated"),
            ],
        ),
        # A Binance Multi-Assets account: a long locked by a short in hedge mode (3,900 USDT of loss
        # locked in; its PnL barely moves whatever BTC does), margined mostly by USDE. Its ratio
        # goes from about 40 % to about 84 % as USDE falls by a third; no liquidation price comes
        # near the mark.
        DemoAccount(
            "demo-binance-ma",
            "binance",
            300.0,
            [
                DemoPosition("BTC/USDT:USDT", "long", 3.0, 64_600.0, 20, "cross", "long"),
                DemoPosition("BTC/USDT:USDT", "short", 3.0, 63_300.0, 20, "cross", "short"),
            ],
            collateral=[
                DemoCollateral("USDT", 300.0, 0.0, 0.0),
                DemoCollateral("USDE", 6_600.0, 0.05, 0.05, depegs=True),
                DemoCollateral("BTC", 0.02, 0.05, 0.05),
            ],
        ),
    ]


def _synthetic_table() -> TierTable:
    rows: list[dict[str, float | None]] = [
        {"min": 0, "max": 50_000, "mmr": 0.005, "max_leverage": 75},
        {"min": 50_000, "max": 250_000, "mmr": 0.01, "max_leverage": 50},
        {"min": 250_000, "max": 1_000_000, "mmr": 0.025, "max_leverage": 20},
        {"min": 1_000_000, "max": None, "mmr": 0.05, "max_leverage": 10},
    ]
    return build_table(rows, source="demo market", as_of="demo")


SYNTHETIC_VENUES: tuple[tuple[str, str], ...] = (("binance", "USDT"), ("bybit", "USDT"), ("hyperliquid", "USDC"))
"""The venues (and settle currencies) ``--demo-accounts`` spreads its accounts over, in turn."""


def synthetic_accounts(
    positions: int, symbols: int, seed: int, accounts: int | None = None
) -> tuple[list[DemoAccount], list[DemoSymbol]]:
    """A large demo for benchmarks: ``positions`` positions over ``symbols`` synthetic symbols.
    ``accounts`` None: accounts of 500 positions, all on Binance; else that many accounts (the
    positions spread evenly, one position per symbol and account) on Binance, Bybit and
    Hyperliquid in turn (``watch --demo-accounts``). Raises :class:`InputError` naming the flag
    for counts that cannot make a demo."""
    from liqwatch.core.errors import InputError

    if positions < 1:
        raise InputError("--demo-positions", f"must be >= 1, got {positions}")
    if symbols < 1:
        raise InputError("--demo-symbols", f"must be >= 1, got {symbols}")
    if accounts is not None and not 1 <= accounts <= positions:
        raise InputError("--demo-accounts", f"must be between 1 and --demo-positions ({positions}), got {accounts}")
    rng = random.Random(seed)
    syms = [DemoSymbol(f"S{i:03d}", rng.uniform(0.5, 500.0), rng.uniform(0.6, 1.6), 0.0015) for i in range(symbols)]
    table = _synthetic_table()
    out: list[DemoAccount] = []
    per_account = 500 if accounts is None else math.ceil(positions / accounts)
    for a in range(max(1, math.ceil(positions / per_account))):
        exchange, settle = ("binance", "USDT") if accounts is None else SYNTHETIC_VENUES[a % len(SYNTHETIC_VENUES)]
        plist = []
        for j in range(min(per_account, positions - a * per_account)):
            sym = syms[(a * per_account + j) % symbols]
            notional = rng.uniform(500, 40_000)
            plist.append(
                DemoPosition(
                    f"{sym.symbol}/{settle}:{settle}",
                    rng.choice(("long", "short")),
                    notional / sym.start,
                    sym.start * rng.uniform(0.97, 1.03),
                    rng.choice((3, 5, 10, 20)),
                    "isolated" if j % 3 == 0 else "cross",
                    # one-way mode: one position per symbol and account
                )
            )
        unique: dict[str, DemoPosition] = {}
        for p in plist:
            unique.setdefault(p.symbol, p)
        wallet = 0.15 * sum(p.size * p.entry for p in unique.values())
        out.append(
            DemoAccount(
                f"demo-{a + 1:02d}",
                exchange,
                wallet,
                list(unique.values()),
                extra_tiers={s: table for s in unique},
            )
        )
    return out, syms


class DemoMarket:
    """The simulated venues. ``step()`` advances one simulated second; everything it produces is a
    function of the seed and the tick count."""

    def __init__(
        self, seed: int = 7, accounts: list[DemoAccount] | None = None, symbols: list[DemoSymbol] | None = None
    ) -> None:
        self.rng = random.Random(seed)
        self.symbols = symbols or SYMBOLS
        self.accounts = accounts or sample_accounts()
        self.tick = 0
        self.log_price = {s.symbol: math.log(s.start) for s in self.symbols}
        self.beta = {s.symbol: s.beta for s in self.symbols}
        self.vol = {s.symbol: s.vol for s in self.symbols}
        self.tables: dict[tuple[str, str], TierTable] = {}
        self._prices: dict[str, float] = {}
        """This tick's mark per symbol as asked (emptied by :meth:`step`): one ``exp`` per symbol
        and tick instead of one per question (marks, plans, specs and reports all ask)."""
        self._mark_symbols: dict[str, tuple[list[DemoPosition], list[str]]] = {}
        """Per account, its positions list and the sorted symbols it holds (the list is replaced
        whenever a position goes)."""
        self._plans: dict[str, tuple[dict[int, float | None], list[tuple[Leg, str]]]] = {}
        self._mark: Callable[..., MarkPrice] | None = None
        self._position: Callable[..., PositionData] | None = None
        for acc in self.accounts:
            venue = get_venue(acc.exchange)
            for p in acc.positions:
                table = acc.extra_tiers.get(p.symbol)
                if table is None:
                    _, market = find_market(venue, p.symbol, bundled_only(venue))
                    table = market.table if market else _synthetic_table()
                self.tables[(acc.name, p.symbol)] = table

    @staticmethod
    def base(symbol: str) -> str:
        return symbol.split("/", maxsplit=1)[0]

    def price(self, symbol: str) -> float:
        price = self._prices.get(symbol)
        if price is None:
            price = self._prices[symbol] = math.exp(self.log_price[self.base(symbol)])
        return price

    def market_drift(self, t: float) -> float:
        """The scripted part of the market factor's log-return over second (t-1, t]."""
        if CRASH_START < t <= CRASH_START + CRASH_SECONDS:
            return math.log(1 - CRASH_DEPTH) / CRASH_SECONDS
        if CRASH_START + CRASH_SECONDS < t <= CRASH_START + CRASH_SECONDS + REBOUND_SECONDS:
            return math.log(1 + REBOUND) / REBOUND_SECONDS
        return 0.0

    def peg(self, t: float) -> float:
        """A depegging stablecoin's price on the simulated venue's index at second ``t``: 1, down by
        :data:`DEPEG` over the crash's first :data:`DEPEG_SECONDS`, held to the crash's end, back
        to 1 over the rebound. A function of the tick only (no draw: the marks' path is unchanged)."""
        start = CRASH_START
        low = 1.0 - DEPEG
        if t <= start:
            return 1.0
        if t <= start + DEPEG_SECONDS:
            return 1.0 - DEPEG * (t - start) / DEPEG_SECONDS
        if t <= start + CRASH_SECONDS:
            return low
        if t <= start + CRASH_SECONDS + REBOUND_SECONDS:
            return low + DEPEG * (t - start - CRASH_SECONDS) / REBOUND_SECONDS
        return 1.0

    def collateral_price(self, c: DemoCollateral) -> float:
        if c.depegs:
            return self.peg(float(self.tick))
        if c.asset in self.log_price:  # a coin of the market: its mark
            return self.price(c.asset)
        return 1.0  # a USD stablecoin that holds

    def collateral_assets(self, acc: DemoAccount) -> list[CollateralAsset]:
        """The account's collateral at this tick, as the simulated venue values it."""
        return [
            CollateralAsset(
                c.asset,
                acc.wallet if c.asset == "USDT" else c.amount,
                self.collateral_price(c),
                bid_buffer=c.bid_buffer,
                ask_buffer=c.ask_buffer,
            )
            for c in acc.collateral
        ]

    def step(self) -> list[str]:
        """Advance one simulated second; returns the accounts whose positions changed
        (liquidations by the simulated venue)."""
        self.tick += 1
        self._prices.clear()
        common = self.rng.gauss(0.0, 0.0008) + self.market_drift(float(self.tick))
        for s in self.symbols:
            own = self.rng.gauss(0.0, self.vol[s.symbol])
            self.log_price[s.symbol] += self.beta[s.symbol] * common + own
        changed = []
        for acc in self.accounts:
            if self._liquidate(acc):
                changed.append(acc.name)
        return changed

    def specs(self, acc: DemoAccount) -> list[PositionSpec]:
        out = []
        fee_rate = get_venue(acc.exchange).default_fee_rate
        for p in acc.positions:
            out.append(
                PositionSpec(
                    symbol=p.symbol,
                    side=p.side,  # type: ignore[arg-type]
                    size=p.size,
                    entry_price=p.entry,
                    mark_price=self.price(p.symbol),
                    tiers=self.tables[(acc.name, p.symbol)],
                    margin_mode=p.margin_mode,  # type: ignore[arg-type]
                    position_side=p.position_side,  # type: ignore[arg-type]
                    leverage=p.leverage,
                    isolated_margin=p.size * p.entry / p.leverage if p.margin_mode == "isolated" else None,
                    fee_rate=fee_rate,
                )
            )
        return out

    def _liquidate(self, acc: DemoAccount) -> bool:
        """The simulated venue closes what its own rules liquidate: an isolated position loses its
        margin when the mark reaches its liquidation price (fixed while the position is); a cross
        account whose margin ratio reaches 100% loses its cross positions. Checked every tick, so
        the check avoids building full risk records."""
        if not acc.positions:
            return False
        if acc.multi_assets:
            return self._liquidate_pooled(acc)
        if acc.name not in self._plans:
            self._plans[acc.name] = self._plan(acc)
        isolated_lps, cross_legs = self._plans[acc.name]
        survivors = []
        changed = False
        gap = acc.wallet
        cross_req = 0.0
        for leg, symbol in cross_legs:
            price = self.price(symbol)
            r = requirement(leg, price)
            cross_req += r
            gap += leg.sign * leg.qty * (price - leg.entry) - r
        cross_gone = bool(cross_legs) and gap <= 0
        for p in acc.positions:
            if p.margin_mode == "isolated":
                lp = isolated_lps.get(id(p))
                mark = self.price(p.symbol)
                if lp is not None and ((p.side == "long" and mark <= lp) or (p.side == "short" and mark >= lp)):
                    changed = True
                    continue
            elif cross_gone:
                changed = True
                continue
            survivors.append(p)
        if cross_gone:
            acc.wallet = max(0.0, gap)  # cross margin balance less the requirement: what is left
        if changed:
            acc.positions = survivors
            # an isolated position's liquidation price is its own margin's, whatever else the account
            # holds: the survivors keep theirs (no re-solve), the cross legs are the survivors'
            kept = {id(p) for p in survivors}
            self._plans[acc.name] = (
                {key: lp for key, lp in isolated_lps.items() if key in kept},
                [] if cross_gone else cross_legs,
            )
        return changed

    def _liquidate_pooled(self, acc: DemoAccount) -> bool:
        """A multi-assets account: every position goes once the account margin ratio (USD
        maintenance margin / effective equity) reaches 100 %; what is left of its effective equity
        stays as USDT (its other collateral is sold to cover the loss)."""
        venue = get_venue(acc.exchange)
        specs = self.specs(acc)
        assets = self.collateral_assets(acc)
        ratio = account_margin_ratio(venue, specs, assets)
        if ratio is not None and ratio < 1.0:
            return False
        risk = assess_collateral(venue, specs, assets)
        acc.wallet = max(0.0, risk.effective_equity - risk.maintenance_margin_usd)
        for c in acc.collateral:
            if c.asset != "USDT":
                c.amount = 0.0
        acc.positions = []
        return True

    def _plan(self, acc: DemoAccount) -> tuple[dict[int, float | None], list[tuple[Leg, str]]]:
        """Isolated liquidation prices (they do not move while the position does not) and the
        cross legs, for the per-tick check."""
        venue = get_venue(acc.exchange)
        isolated: list[DemoPosition] = []
        isolated_specs: list[PositionSpec] = []
        legs: list[tuple[Leg, str]] = []
        for p, spec in zip(acc.positions, self.specs(acc), strict=True):
            if p.margin_mode == "isolated":
                isolated.append(p)
                isolated_specs.append(spec)
            else:
                legs.append((Leg(spec.sign, spec.size, spec.entry_price, spec.tiers, spec.fee_rate), p.symbol))
        # An isolated position's liquidation price is its own margin's (the same solve whatever else
        # the account holds): the isolated positions alone are assessed, not the whole account.
        prices = liquidation_prices(venue, isolated_specs, acc.wallet) if isolated else []
        lps: dict[int, float | None] = {id(p): lp for p, lp in zip(isolated, prices, strict=True)}
        return lps, legs

    # ------------------------------------------------------------------ events

    def position_events(self, acc: DemoAccount, now: float) -> list[Positions | Balance]:
        from liqwatch.feeds.events import Balance, PositionData, Positions

        if self._position is None:
            self._position = trusted(PositionData)
        position = self._position
        venue = get_venue(acc.exchange)
        pooled = acc.multi_assets
        # the venue's own liquidation prices; the full assessment only where its ADL lights are wanted
        risk = assess(venue, self.specs(acc), acc.wallet) if acc.positions and acc.venue_adl and not pooled else None
        lps = (
            liquidation_prices(venue, self.specs(acc), acc.wallet)
            if acc.positions and not acc.venue_adl and not pooled
            else []
        )
        # the simulated Binance's own liquidation estimate of a multi-assets account's positions
        venue_lps = (
            [
                p.liquidation_price
                for p in assess_collateral(venue, self.specs(acc), self.collateral_assets(acc)).positions
            ]
            if acc.positions and pooled
            else []
        )
        data = []
        for i, p in enumerate(acc.positions):
            lights = None
            lp = venue_lps[i] if pooled else lps[i] if lps else None
            if risk is not None:
                r = risk.positions[i]
                lp = r.liquidation_price
                if acc.venue_adl:
                    lights = r.adl.lights  # the simulated venue's own indicator
            data.append(
                position(  # the simulation's own values, as validation would make them (floats)
                    symbol=p.symbol,
                    side=p.side,
                    size=float(p.size),
                    entry_price=float(p.entry),
                    margin_mode=p.margin_mode,
                    position_side=p.position_side,
                    leverage=float(p.leverage),
                    isolated_margin=float(p.size * p.entry / p.leverage) if p.margin_mode == "isolated" else None,
                    mark_price=self.price(p.symbol),
                    exchange_liquidation_price=None if lp is None else float(lp),
                    adl_lights=lights,
                )
            )
        return [
            Positions(account=acc.name, exchange=acc.exchange, ts=now, positions=data),
            Balance(account=acc.name, exchange=acc.exchange, ts=now, wallet_balance=acc.wallet, currency=venue.settle),
        ]

    def mode_events(self, acc: DemoAccount, now: float) -> list[AccountMode]:
        """A multi-assets account's mode, its collateral at the venue's index and buffers (the
        simulated ``/fapi/v1/assetIndex``, every second) and the venue's own account ratio
        (``/fapi/v3/account`` totalMaintMargin / totalMarginBalance); none for a single account."""
        from liqwatch.feeds.events import AccountMode, CollateralRow

        if not acc.multi_assets:
            return []
        venue = get_venue(acc.exchange)
        assets = self.collateral_assets(acc)
        risk = assess_collateral(venue, self.specs(acc), assets) if acc.positions else None
        rows = [
            CollateralRow(
                asset=a.asset,
                amount=a.amount,
                price=a.price,
                bid_buffer=a.bid_buffer or 0.0,
                ask_buffer=a.ask_buffer or 0.0,
            )
            for a in assets
        ]
        inputs: dict[str, float | str | None] = {}
        if risk is not None:
            inputs = {"totalMaintMargin": risk.maintenance_margin_usd, "totalMarginBalance": risk.effective_equity}
        return [
            AccountMode(
                account=acc.name,
                exchange=acc.exchange,
                ts=now,
                mode="multi_assets",
                mode_detail="demo market: Multi-Assets Mode (simulated multiAssetsMargin true)",
                margin_ratio_venue=None if risk is None else risk.margin_ratio,
                venue_inputs=inputs,
                collateral=rows,
            )
        ]

    def tier_events(self, acc: DemoAccount, now: float) -> list[Tiers]:
        from liqwatch.feeds.events import TierRowData, Tiers

        out = []
        venue = get_venue(acc.exchange)
        seen = set()
        for p in acc.positions:
            if p.symbol in seen:
                continue
            seen.add(p.symbol)
            table = self.tables[(acc.name, p.symbol)]
            _, market = find_market(venue, p.symbol, bundled_only(venue))
            bundled = market is not None and market.table is table
            rows = [
                TierRowData(
                    min_notional=t.floor,
                    max_notional=None if math.isinf(t.cap) else t.cap,
                    mmr=t.mmr,
                    max_leverage=t.max_leverage,
                    maint_amount=t.maint_amount,
                )
                for t in table.tiers
            ]
            out.append(
                Tiers(
                    account=acc.name,
                    exchange=acc.exchange,
                    ts=now,
                    symbol=p.symbol,
                    tiers=rows,
                    basis=table.basis,
                    source="bundled" if bundled else "exchange",
                    note=f"demo market: bundled {venue.name} snapshot as of {table.as_of}"
                    if bundled
                    else "demo market",
                )
            )
        return out

    def initial_events(self, now: float, interval: float = 1.0) -> list[Event]:
        """Everything the simulated venues publish about their current state, in order."""
        from liqwatch.feeds.events import Status

        events: list[Event] = []
        for acc in self.accounts:
            events.append(
                Status(
                    account=acc.name,
                    exchange=acc.exchange,
                    ts=now,
                    state="connected",
                    channel="feed",
                    detail="demo market (simulated; no keys, no network)",
                )
            )
            events.extend(self.tier_events(acc, now))
            events.extend(self.mode_events(acc, now))  # the mode before the first figures
            events.extend(self.position_events(acc, now))
        events.extend(self.mark_events(now, interval))
        return events

    def collateral_events(self, now: float) -> list[AccountMode]:
        """Every multi-assets account's collateral at this tick's index (sent with the marks)."""
        out: list[AccountMode] = []
        for acc in self.accounts:
            out.extend(self.mode_events(acc, now))
        return out

    def mark_events(self, now: float, interval: float) -> list[MarkPrice]:
        """Each account's mark of each symbol it holds (built as :func:`trusted` events: the
        simulation's own floats, one event per account and symbol every second)."""
        if self._mark is None:
            from liqwatch.feeds.events import MarkPrice

            self._mark = trusted(MarkPrice)
        mark = self._mark
        ts, every = float(now), float(interval)
        out = []
        for acc in self.accounts:
            held = self._mark_symbols.get(acc.name)
            if held is None or held[0] is not acc.positions:
                held = self._mark_symbols[acc.name] = (acc.positions, sorted({p.symbol for p in acc.positions}))
            name, exchange = acc.name, acc.exchange
            for symbol in held[1]:
                out.append(
                    mark(
                        account=name, exchange=exchange, ts=ts, symbol=symbol, price=self.price(symbol), interval=every
                    )
                )
        return out


class DemoFeed:
    """Runs a :class:`DemoMarket` in (accelerated) real time and emits its events."""

    name = "demo"

    def __init__(
        self,
        seed: int = 7,
        speed: float = 1.0,
        *,
        market: DemoMarket | None = None,
        clock: Callable[[], float] = time.time,
        max_ticks: int | None = None,
    ) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError("speed must be > 0")
        self.market = market or DemoMarket(seed)
        self.speed = speed
        self.clock = clock
        self.max_ticks = max_ticks

    async def run(self, sink: Sink) -> None:
        market = self.market
        now = self.clock()
        # The simulated venues publish marks every simulated second.
        interval = 1.0 / self.speed
        for event in market.initial_events(now, interval):
            sink(event)
        while self.max_ticks is None or market.tick < self.max_ticks:
            await asyncio.sleep(interval)
            changed = set(market.step())
            now = self.clock()
            for mark in market.mark_events(now, interval):
                sink(mark)
            for index in market.collateral_events(now):
                sink(index)
            for acc in market.accounts:
                if acc.name in changed or market.tick % SNAPSHOT_EVERY == 0:
                    for pe in market.position_events(acc, now):
                        sink(pe)
