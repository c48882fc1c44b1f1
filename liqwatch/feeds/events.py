"""Normalised events: the one vocabulary every feed speaks and the state store understands.

pydantic models (the boundary between the outside world and liqwatch), serialisable as JSON lines
for ``--record`` / ``--replay``. Timestamps are Unix seconds (float). Secrets never appear here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account: str
    """The account name from the config (``demo`` for the demo market)."""
    exchange: str
    ts: float
    """When the venue produced the data (its own timestamp where it sends one), Unix seconds."""


class MarkPrice(_Event):
    type: Literal["mark"] = "mark"
    symbol: str
    price: float = Field(gt=0)
    interval: float = Field(default=1.0, gt=0)
    """How often this stream is expected to update, seconds (stale after 3x)."""


class PositionData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str
    side: Literal["long", "short"]
    size: float = Field(gt=0)
    entry_price: float = Field(gt=0)
    margin_mode: Literal["isolated", "cross"] = "cross"
    position_side: Literal["both", "long", "short"] = "both"
    leverage: float | None = None
    isolated_margin: float | None = None
    """Margin posted, excluding unrealized PnL (Binance ``isolatedWallet``)."""
    mark_price: float | None = None
    exchange_liquidation_price: float | None = None
    """The venue's own figure; None where it returns none, zero or empty."""
    adl_lights: int | None = Field(default=None, ge=0, le=5)
    """The venue's ADL indicator mapped to 0-5 lights (None: the venue gives none)."""
    contract_size: float | None = None
    tick_size: float | None = Field(default=None, gt=0)
    """The market's price tick (ccxt ``precision.price``); None where unknown."""
    margin_note: str = ""
    """How ``isolated_margin`` was derived from the payload when it is not a field as is (Bybit:
    the fee to close taken out), for explaining a difference from the venue's price."""
    fee_rate: float | None = Field(default=None, ge=0, lt=1)
    """The account's own taker rate for this market, read from the venue where its liquidation
    formula counts the fee at that rate (OKX, Bitget); None: the venue's default rate applies."""
    fee_note: str = ""
    """Set where the account's taker rate was wanted but could not be read: that the venue's
    default rate was assumed, and why."""
    inverse: bool = False
    """Coin-margined (inverse) market: ``size`` is the USD face value (contracts x contract size in
    USD), prices are in USD, and ``isolated_margin`` is in the settle coin."""
    settle: str | None = None
    """The market's settle (collateral) currency (ccxt ``market['settle']``); None: the venue's
    default. Cross positions share the wallet of their settle currency only."""
    contracts: float | None = Field(default=None, ge=0)
    """The size in contracts as the venue counts them (Bybit inverse: USD), where known."""


class Positions(_Event):
    """A full snapshot of the account's open positions (REST), or a hint from a private stream
    (``complete`` false: only the positions that changed)."""

    type: Literal["positions"] = "positions"
    positions: list[PositionData]
    complete: bool = True


class Balance(_Event):
    type: Literal["balance"] = "balance"
    wallet_balance: float
    """Cross collateral in the settle currency (cross wallet balance / account value less PnL)."""
    currency: str = "USDT"
    maintenance_margin: float | None = None
    """The account's maintenance margin in this currency as the venue reports it, where the venue
    margins at account level (Deribit); with :attr:`equity` it gives the ratio shown for positions
    liqwatch does not price."""
    equity: float | None = None
    """The account's equity in this currency as the venue reports it (see :attr:`maintenance_margin`)."""
    """The settle currency this wallet backs (one Balance per currency pool: the USDT wallet backs
    the USDT-margined contracts, a BTC wallet the BTC-margined ones)."""


AccountModeName = Literal["single", "multi_assets", "portfolio", "unknown"]
"""How the venue margins the account: ``single`` (one wallet per settle coin: what liqwatch
computes), ``multi_assets`` (one cross pool valued in USD across collateral coins with the venue's
haircuts), ``portfolio`` (a scenario-based requirement) or ``unknown`` (the mode could not be read)."""


class CollateralTierRow(BaseModel):
    """One haircut tier of a collateral asset: the slice of its quantity (or USD value) between
    ``min`` and ``max`` (None = no end) counts at ``ratio``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float = Field(ge=0)
    max: float | None = None
    ratio: float = Field(ge=0, le=1)


class CollateralRow(BaseModel):
    """One collateral asset of a multi-assets account as the venue values it: its wallet balance
    at its USD index, with the venue's bid/ask buffers (Binance ``/fapi/v1/assetIndex``) or its
    tiered collateral ratios (Bybit ``/v5/spot-margin-trade/collateral``, OKX discount-rate tiers:
    ``tier_basis`` quantity; Bitget and Gate discount tiers: ``tier_basis`` value) or a flat
    ``ratio`` (0: a coin the venue does not count as collateral)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset: str
    amount: float
    price: float = Field(gt=0)
    bid_buffer: float | None = Field(default=None, ge=0, le=1)
    ask_buffer: float | None = Field(default=None, ge=0)
    ratio: float | None = Field(default=None, ge=0, le=1)
    tiers: list[CollateralTierRow] = Field(default_factory=list)
    tier_basis: Literal["quantity", "value"] = "quantity"
    pnl: float = 0.0
    """A ``portfolio`` account's row: the unrealized PnL the venue reports settled in the asset (its
    equity is ``amount + pnl``; Binance PM ``umUnrealizedPNL + cmUnrealizedPNL``). 0 for a
    ``multi_assets`` row, whose PnL liqwatch computes at its marks."""
    value_usd: float | None = None
    """The venue's own USD value of the asset's equity where it sends one (OKX ``eqUsd``)."""
    collateral_value_usd: float | None = None
    """The venue's own collateral value of the asset where it sends one (OKX ``disEq``): used as
    sent instead of the ratio (a row with it needs no ``ratio``/``tiers``/buffers)."""


class AccountMode(_Event):
    """The account's margin mode as its venue states it (read at connect) and the venue's own
    account margin ratio (read every REST cycle where the venue gives one)."""

    type: Literal["account_mode"] = "account_mode"
    mode: AccountModeName
    mode_detail: str = ""
    """The venue's own words (e.g. ``bybit marginMode REGULAR_MARGIN (unified)``), or for
    ``unknown`` why the mode could not be read."""
    margin_ratio_venue: float | None = None
    """The venue's account ratio in liqwatch's convention: maintenance margin / equity, 1.0 =
    liquidation (converted where the venue quotes equity / MM); None where it gives none."""
    venue_inputs: dict[str, float | str | None] = Field(default_factory=dict)
    """The venue's fields the ratio comes from, as sent (for explaining a difference from ours)."""
    collateral: list[CollateralRow] = Field(default_factory=list)
    """Every collateral asset of a ``multi_assets`` account where the venue publishes how it values
    them: liqwatch then computes the account itself; of a ``portfolio`` account, every coin the
    venue reports with its published rate, shown as the venue's (no figure of ours from it); []
    elsewhere."""
    account_status_venue: str | None = None
    """The venue's own word for the account's risk state, as sent (Binance portfolio margin
    ``accountStatus``: NORMAL, MARGIN_CALL, SUPPLY_MARGIN, REDUCE_ONLY, ACTIVE_LIQUIDATION,
    FORCE_LIQUIDATION, BANKRUPTED); None where the venue gives none."""


class TierRowData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_notional: float = Field(ge=0)
    max_notional: float | None = None
    mmr: float = Field(ge=0, lt=1)
    max_leverage: float = Field(gt=0)
    maint_amount: float | None = None


class Tiers(_Event):
    type: Literal["tiers"] = "tiers"
    symbol: str
    basis: Literal["notional", "quantity"] = "notional"
    tiers: list[TierRowData]
    source: Literal["exchange", "bundled"] = "exchange"
    note: str = ""


StatusState = Literal["connecting", "connected", "disconnected", "reconnecting", "resynced", "error", "closed"]
Channel = Literal["rest", "marks", "private", "feed"]


class Status(_Event):
    """Connection lifecycle and errors, one per change: what ``liqwatch watch`` prints as events."""

    type: Literal["status"] = "status"
    state: StatusState
    channel: Channel = "feed"
    detail: str = ""
    lasting: bool = False
    """An ``error`` that waiting cannot heal (authentication rejected, permission denied, a missing
    credential): the feed retries it only slowly, and a one-shot reader (``watch --once``) stops
    waiting for the account's data."""


Event = Annotated[MarkPrice | Positions | Balance | Tiers | Status | AccountMode, Field(discriminator="type")]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(line: str | bytes) -> Event:
    """One recorded JSON line back into an event (raises pydantic.ValidationError)."""
    return EVENT_ADAPTER.validate_json(line)


def dump_event(event: Event) -> str:
    return event.model_dump_json()
