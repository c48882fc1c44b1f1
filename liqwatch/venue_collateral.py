"""A ``portfolio`` account's collateral as its venue reports it (issue #21 points 4 and 5).

Portfolio margin sets the requirement from risk scenarios nobody outside can reproduce, so liqwatch
computes no account figure of its own there. What it can show exactly is the collateral: each coin
the venue reports, its balance net of borrow (and the PnL the venue settles in it), its USD index
price and the venue's published collateral rate, valued one coin at a time by
:func:`liqwatch.core.collateral.value_asset` (or as the venue sends the value, where it does), with
the venue's own effective equity beside it. Nothing here sums the coins into a ratio.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from liqwatch.core.collateral import AssetValue, CollateralAsset, CollateralTier, value_asset
from liqwatch.core.venues.collateral_conventions import PORTFOLIO_EFFECTIVE_EQUITY
from liqwatch.views import VenueCollateral

if TYPE_CHECKING:
    from liqwatch.feeds.events import CollateralRow


def asset_value(row: CollateralRow) -> AssetValue:
    """One coin valued: as the venue sends its collateral value where it does, else at the venue's
    published rate (flat, tiered or buffers) on its equity ``amount + pnl``. Raises InputError for
    a rate or price that would give a wrong number."""
    if row.collateral_value_usd is not None:
        equity = row.amount + row.pnl
        value = row.value_usd if row.value_usd is not None else equity * row.price
        cv = row.collateral_value_usd
        return AssetValue(row.asset, row.amount, equity, row.price, value, cv, cv / value if value else 0.0)
    asset = CollateralAsset(
        row.asset,
        row.amount,
        row.price,
        ratio=row.ratio,
        tiers=tuple(CollateralTier(t.min, t.max, t.ratio) for t in row.tiers),
        tier_basis=row.tier_basis,
        bid_buffer=row.bid_buffer,
        ask_buffer=row.ask_buffer,
    )
    return value_asset(asset, row.pnl)


def venue_collateral(
    exchange: str, rows: Sequence[CollateralRow], inputs: Mapping[str, float | str | None]
) -> VenueCollateral:
    """Every coin of ``rows`` valued (:func:`asset_value`, in the venue's order) and the venue's own
    effective equity from ``inputs`` (:data:`PORTFOLIO_EFFECTIVE_EQUITY` names its field). Raises
    InputError."""
    name = PORTFOLIO_EFFECTIVE_EQUITY.get(exchange)
    found = inputs.get(name) if name is not None else None
    equity = float(found) if isinstance(found, int | float) and not isinstance(found, bool) else None
    return VenueCollateral([asset_value(r) for r in rows], equity, name)
