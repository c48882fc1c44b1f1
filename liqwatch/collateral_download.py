"""``liqwatch tiers update --collateral``: download each venue's public collateral table through
ccxt into the collateral cache (:mod:`liqwatch.collateral_cache`), for ``liqwatch calc``.

Sources (public GETs, no keys; shared reference ``collateral.md`` §1.1, §2, §3, §6, §7):

* Binance ``GET /fapi/v1/assetIndex``: per ``<ASSET>USD`` pair its ``bidBuffer`` / ``askBuffer``
  (Multi-Assets Mode: bid rate = index x (1 - bidBuffer), ask rate = index x (1 + askBuffer)).
* Bybit ``GET /v5/spot-margin-trade/collateral``: each coin's ``collateralRatioList`` (tiered
  collateral value ratios by quantity; ``maxQty`` "" = no end).
* OKX ``GET /api/v5/public/discount-rate-interest-free-quota``: each currency's discount-rate
  tiers by quantity (``minDiscountRate`` past the last ``maxAmt``).
* Bitget ``GET /api/v2/mix/market/discount-rate``: each coin's multi-asset haircut tiers by USDT
  value (``maxAmount`` -1 = no end; USDT whole where unlisted).
* Gate ``GET /unified/currency_discount_tiers``: each currency's discount tiers by USD value
  (``upper_limit`` "+" = no end).

Each venue adapter's :meth:`~liqwatch.feeds.venue_rest.VenueRest.collateral_table` reads it (the
same readers as live mode, so ``calc`` and ``watch`` value a coin alike). A rate limit, a 5xx or
a network failure is retried (:class:`liqwatch.tiers_update.Retry`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from liqwatch.collateral_cache import write_collateral


@dataclass(slots=True)
class CollateralResult:
    venue: str
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)
    source_url: str = ""
    error: str = ""
    """One line: why nothing was downloaded ("" when the table came)."""
    path: str = ""

    def summary(self) -> str:
        if self.error:
            return f"{self.venue}: collateral table not downloaded: {self.error}; the cached one (if any) kept"
        return f"{self.venue}: collateral table of {len(self.assets)} assets from {self.source_url} -> {self.path}"


async def download_collateral(venue: str, *, rest_url: str | None = None, retry: Any = None) -> CollateralResult:
    """Download ``venue``'s collateral table and write it to the cache; never raises for the
    venue's failures (they are in the result, one line)."""
    import ccxt.async_support as ccxt_async

    from liqwatch.config import Secrets
    from liqwatch.core.venues import get_venue
    from liqwatch.feeds.ccxt_client import explain, new_exchange, point_at
    from liqwatch.tiers_update import Retry, public_account
    from liqwatch.venues import get_home

    result = CollateralResult(venue)
    adapter = get_home(venue).rest
    account = public_account(venue, rest_url)
    base = (rest_url or adapter.public_host).rstrip("/")
    result.source_url = base + get_venue(venue).collateral_table_source
    ex = new_exchange(ccxt_async, adapter, account, Secrets(None, None), options=adapter.options())
    retry = retry or Retry()
    try:
        point_at(ex, account, no_sandbox=ccxt_async.NotSupported, no_sandbox_message="no testnet for this venue")
        try:
            assets = await retry.call(lambda: adapter.collateral_table(ex))
        except Exception as exc:
            result.error = explain(venue, exc, host=base)
            return result
        if not assets:
            result.error = "the venue sent no collateral rows"
            return result
        try:
            result.path = str(write_collateral(venue, assets, result.source_url))
        except (ValueError, OSError) as exc:
            result.error = f"not written ({exc})"
            return result
        result.assets = assets
    finally:
        await ex.close()
    return result


__all__ = ["CollateralResult", "download_collateral"]
