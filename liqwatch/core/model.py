"""Plain records that flow through the risk core. No I/O, no validation framework: the boundary
(``liqwatch.portfolio``) validates user input with pydantic and hands the core these records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from liqwatch.core.tiers import Tier, TierTable

Side = Literal["long", "short"]
MarginMode = Literal["isolated", "cross"]
PositionSide = Literal["both", "long", "short"]
Status = Literal["ok", "liquidatable", "bankrupt"]
AdlSource = Literal["exchange", "estimate"]


@dataclass(slots=True)
class PositionSpec:
    """A position as the risk core needs it. Sizes are absolute base units (contracts x contract
    size), or for an inverse market the USD face value (contracts x USD per contract);
    ``isolated_margin`` is the margin posted, excluding unrealized PnL (Binance ``isolatedWallet``),
    in the settle currency (coin for inverse); ``tiers`` is the resolved bracket table (bundled,
    user file or override): for an inverse market its notional brackets are coin notional (Q/P)
    and its quantity brackets USD face (contracts x contract size)."""

    symbol: str
    side: Side
    size: float
    entry_price: float
    mark_price: float
    tiers: TierTable
    margin_mode: MarginMode = "isolated"
    position_side: PositionSide = "both"
    leverage: float | None = None
    isolated_margin: float | None = None
    fee_rate: float = 0.0
    max_leverage: float | None = None
    """Overrides the bracket's max leverage (``--max-leverage``)."""
    adl_lights: int | None = None
    """A light level (0-5) reported by the venue; ``None`` means liqwatch estimates it."""
    exchange_liquidation_price: float | None = None
    tick_size: float | None = None
    inverse: bool = False
    """Coin-margined (inverse) market: ``size`` is the USD face value Q (contracts x contract size,
    fixed), prices stay in USD, and ``isolated_margin``, fees, PnL and maintenance margin are in the
    settle coin: value Q/P, PnL s*Q*(1/EP - 1/P)."""
    settle: str | None = None
    """The collateral (settle) currency; None means the venue's default (``Venue.settle``). Cross
    positions share collateral only with positions of the same settle currency (one pool each)."""
    contracts: float | None = None
    """The size in contracts as the venue counts them, where known (informational)."""
    contract_size: float | None = None
    """USD (inverse) or base units (linear) per contract, where known (informational)."""

    @property
    def sign(self) -> int:
        return 1 if self.side == "long" else -1


@dataclass(slots=True)
class AdlInfo:
    score: float
    lights: int
    source: AdlSource
    method: str


@dataclass(slots=True)
class PositionRisk:
    """One position's risk. Money fields are in the position's settle currency (the coin for an
    inverse position: ``notional`` is then its coin value Q/P); prices are in the quote (USD)."""

    spec: PositionSpec
    notional: float
    unrealized_pnl: float
    maintenance_margin: float
    """Bracket maintenance margin: value x MMR - maintenance amount (at entry on Bybit isolated)."""
    liquidation_fee: float
    """The closing/liquidation fee the venue adds to the maintenance requirement (OKX, Bitget, Gate;
    Bybit only when a fee rate is given). Zero on Binance and Hyperliquid."""
    initial_margin: float | None
    margin_balance: float
    """Isolated: margin posted + unrealized PnL. Cross: the account's cross margin balance."""
    margin_ratio: float | None
    """(maintenance margin + liquidation fee) / margin balance; 1.0 = liquidation. None when the
    margin balance is zero or negative (the position is past bankruptcy)."""
    margin_ratio_native: float | None
    liquidation_price: float | None
    bankruptcy_price: float | None
    distance_to_liquidation: float | None
    """(mark - liquidation) / mark for a long, (liquidation - mark) / mark for a short."""
    tier: Tier
    bracket_value: float
    """The value compared with the brackets (notional at mark; at entry on Bybit isolated; size
    for quantity-based tables)."""
    next_tier_floor: float | None
    effective_leverage: float | None
    status: Status
    adl: AdlInfo


@dataclass(slots=True)
class AccountRisk:
    """One collateral pool: the positions of one settle currency and that currency's wallet (cross
    margin never crosses pools). Every amount is in ``settle`` (BTC for BTC-margined contracts)."""

    wallet_balance: float
    """Cross wallet balance plus every isolated position's posted margin."""
    cross_wallet_balance: float
    unrealized_pnl: float
    margin_balance: float
    maintenance_margin: float
    """Sum of every position's requirement (maintenance margin + liquidation fee)."""
    margin_ratio: float | None
    cross_margin_balance: float
    cross_maintenance_margin: float
    cross_margin_ratio: float | None
    initial_margin: float | None
    settle: str = ""
    """The pool's settle (collateral) currency: every amount of this record is in it."""


@dataclass(slots=True)
class PortfolioRisk:
    venue: str
    positions: list[PositionRisk]
    account: AccountRisk
    """The pool of the venue's default settle currency (else the first pool held, e.g. the only
    one): what single-currency callers read. Every pool, this one included, is in ``pools``."""
    pools: dict[str, AccountRisk] | None = None
    """One account section per settle currency held (cross collateral never crosses pools);
    ``None`` from callers that built a single-currency result."""
