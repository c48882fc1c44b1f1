"""What the state store hands its sinks: a :class:`Snapshot` of :class:`AccountView` and
:class:`PositionView` (records, the dashboard, alerts and the bus read these).

They live apart from :mod:`liqwatch.state` so that :mod:`liqwatch.records`, which the store uses to
write its records, can name them without importing the store back (no import circle, type-only
imports included; ``tests/test_import_graph.py``). :mod:`liqwatch.state` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from liqwatch.core.collateral import AssetValue, CollateralPosition, CollateralRisk
from liqwatch.core.engine import SolvedPool
from liqwatch.core.model import AccountRisk, PortfolioRisk, PositionRisk
from liqwatch.core.venues.collateral_conventions import ACCOUNT_CONVENTIONS

if TYPE_CHECKING:  # pydantic's event models load with the first event, not with the first frame
    from liqwatch.feeds.events import PositionData


@dataclass(slots=True)
class PositionView:
    account: str
    exchange: str
    data: PositionData
    mark_price: float
    mark_age_s: float | None
    stale: bool
    risk: PositionRisk | None
    note: str = ""
    venue_margin_ratio: float | None = None
    """For a position liqwatch does not price on a venue that margins at account level: its
    account's maintenance margin / equity as the venue reports them (liqwatch's convention)."""
    collateral: CollateralPosition | None = None
    """A cross position of a ``multi_assets`` account liqwatch computes from its collateral: its
    liquidation price and distance (``risk`` is None: no single-collateral figure)."""


@dataclass(slots=True)
class VenueCollateral:
    """A ``portfolio`` account's collateral as its venue reports it (issue #21 points 4 and 5): each
    coin's balance (net of borrow) and the PnL the venue settles in it, its USD index price, the
    venue's collateral rate, value and collateral value, from the venue's own fields and published
    rates; and the venue's own effective equity. Shown labelled as the venue's: no account figure of
    liqwatch's comes from it (the account's ratio stays the venue's)."""

    assets: list[AssetValue]
    effective_equity: float | None
    """The venue's own effective (after collateral rates) equity in USD, as sent (Binance PM
    ``accountEquity``, Bybit ``totalMarginBalance``, OKX ``adjEq``, Gate ``total_margin_balance``:
    :attr:`effective_equity_name`); None where the venue sent none."""
    effective_equity_name: str | None

    @property
    def value_usd(self) -> float:
        """Every coin's equity at its price (before the collateral rates)."""
        return sum(a.value_usd for a in self.assets)

    @property
    def haircut_usd(self) -> float:
        """What the venue's collateral rates take off: value less collateral value, over the coins."""
        return sum(a.value_usd - a.collateral_value_usd for a in self.assets)


DataStatus = Literal["ok", "connecting", "error"]
"""Whether an account has figures: ``ok`` (computed from the feed's data), ``connecting`` (no data
yet: no positions read, or a cross wallet not read yet) or ``error`` (none: the feed failed before
any data came, or the risk could not be computed; :attr:`AccountView.detail` says why, whole)."""


@dataclass(slots=True)
class AccountView:
    name: str
    exchange: str
    wallet_balance: float | None
    """The settle currency's cross wallet as the feed read it: the cross collateral, not the
    account's wallet as shown (that is :func:`liqwatch.records.account_wallet`)."""
    risk: PortfolioRisk | None
    """None whenever :attr:`data_status` is not ``ok``: never figures of an empty portfolio."""
    status: dict[str, str]
    detail: str
    """Every channel's current error, or for an account in ``error`` the whole reason it has no figures."""
    stale: bool
    """A position's mark is stale, or the account has no figures (not ``ok``)."""
    wallets: dict[str, float] = field(default_factory=dict)
    """Cross wallet per settle currency (the pools' collateral); ``risk.pools`` has each pool's
    account section once computed."""
    data_status: DataStatus = "ok"
    reason: str = ""
    """Why the account has no figures ("" when ``ok``): the feed's error, or what it still waits for."""
    isolated: dict[str, float | None] = field(default_factory=dict)
    """Per settle currency holding isolated positions, the sum of their margins (None: one is
    unknown): what a pool's wallet adds to its cross wallet where the risk core did not size it."""
    mode: str = "single"
    """``single`` (liqwatch's figures), ``multi_assets``, ``portfolio`` or ``unknown``: for the last
    three the account's figures are not liqwatch's to give (:attr:`mode_note` says why; ``risk``
    holds the isolated positions only)."""
    mode_detail: str | None = None
    """The venue's own words for the mode (or why it could not be read); None where no feed said."""
    margin_ratio_venue: float | None = None
    """The venue's own account ratio (maintenance margin / equity, 1.0 = liquidation) where read."""
    mode_note: str | None = None
    collateral_risk: CollateralRisk | None = None
    """A ``multi_assets`` account computed from its collateral: its effective equity, MM in USD and
    margin ratio (liqwatch's, beside the venue's)."""
    account_status_venue: str | None = None
    """The venue's own word for the account's risk state (Binance portfolio margin
    ``accountStatus``); None where the venue gives none."""
    margin_ratio_native: float | None = None
    """The venue's own account ratio as it quotes it where that is the other way up
    (:attr:`margin_ratio_native_name`: Binance PM ``uniMMR``), as sent; None elsewhere."""
    collateral_venue: VenueCollateral | None = None
    """A ``portfolio`` account's collateral as the venue reports it (None: not read, or another mode)."""
    solved: list[SolvedPool] | None = field(default=None, compare=False, repr=False)
    """The collateral pools the risk core solved for :attr:`risk` (the funding projection
    re-solves from them, :func:`liqwatch.core.funding.liquidation_prices_after`); None where the
    view was not computed here."""

    @property
    def margin_ratio_native_name(self) -> str | None:
        """The name of :attr:`margin_ratio_native` in the venue's API, for the account's mode."""
        conv = ACCOUNT_CONVENTIONS.get((self.exchange, self.mode))
        return None if conv is None else conv.native_name

    @property
    def liquidation_trigger(self) -> float:
        """What :attr:`margin_ratio_venue` is multiplied by to read 1.0 at the venue's own
        liquidation level: 1.05 on Binance portfolio margin (liquidation at uniMMR 1.05, i.e. at
        ``margin_ratio_venue`` 1 / 1.05 = 0.952), 1.0 elsewhere (calc's ``liquidation_trigger``)."""
        conv = ACCOUNT_CONVENTIONS.get((self.exchange, self.mode))
        return 1.0 if conv is None else conv.trigger

    @property
    def venue_ratio_to_trigger(self) -> float | None:
        """The venue's ratio against the venue's own liquidation level (1.0 = the venue
        liquidates): :attr:`margin_ratio_venue` x :attr:`liquidation_trigger`; what the
        margin-ratio alert and the card's gauge run on for an account liqwatch does not compute."""
        ratio = self.margin_ratio_venue
        return None if ratio is None else ratio * self.liquidation_trigger

    @property
    def computed(self) -> bool:
        """liqwatch computes this account's margin (``single``): its account figures are ours."""
        return self.mode == "single"

    @property
    def margin_ratio_diff(self) -> float | None:
        """Our account margin ratio less the venue's, where both are known (``single``, or a
        ``multi_assets`` account computed from its collateral)."""
        if self.margin_ratio_venue is None:
            return None
        if self.collateral_risk is not None:
            ours = self.collateral_risk.margin_ratio
        elif not self.computed or self.risk is None:
            return None
        else:
            ours = self.risk.account.margin_ratio
        if ours is None or ours - ours != 0.0:
            return None
        return ours - self.margin_ratio_venue

    @property
    def cause(self) -> str:
        """:attr:`reason` without the account's name before each error (see :meth:`unprefixed`)."""
        return self.unprefixed(self.reason)

    def unprefixed(self, text: str) -> str:
        """``text`` without the ``<exchange> account '<name>': `` the feed puts before each error
        (the card and the one-line messages name the account already): the cause comes first."""
        return text.replace(f"{self.exchange} account '{self.name}': ", "")

    @property
    def pools(self) -> dict[str, AccountRisk]:
        """One account section per settle currency held ({} until risk is computed)."""
        if self.risk is None:
            return {}
        return dict(self.risk.pools) if self.risk.pools else {}


@dataclass(slots=True)
class Snapshot:
    ts: float
    accounts: list[AccountView]
    positions: list[PositionView]
