"""What the state store hands its sinks: a :class:`Snapshot` of :class:`AccountView` and
:class:`PositionView` (records, the dashboard, alerts and the bus read these).

They live apart from :mod:`liqwatch.state` so that :mod:`liqwatch.records`, which the store uses to
write its records, can name them without importing the store back (no import circle, type-only
imports included; ``tests/test_import_graph.py``). :mod:`liqwatch.state` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from liqwatch.core.collateral import CollateralPosition, CollateralRisk
from liqwatch.core.engine import SolvedPool
from liqwatch.core.model import AccountRisk, PortfolioRisk, PositionRisk

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
    solved: list[SolvedPool] | None = field(default=None, compare=False, repr=False)
    """The collateral pools the risk core solved for :attr:`risk` (the funding projection
    re-solves from them, :func:`liqwatch.core.funding.liquidation_prices_after`); None where the
    view was not computed here."""

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
