"""Bundled contract facts that hold for every market of a kind on a venue (a market's own snapshot
or ``liqwatch tiers update`` cache entry, where it has one, says more): the contract size of linear
perpetuals where it is one base unit everywhere, and each venue's coin-margined (inverse) family —
its name, its contract size in USD, what its tier bounds are in and whether ``liqwatch tiers
update`` downloads them. Sources: docs/venues/inverse.md (sections 1.1-1.7) and each venue's note.

Plain Python rather than JSON: ``liqwatch calc`` reads it on every start and a module costs less
than a file read and a parse.
"""

from __future__ import annotations


class InverseFamily:
    """One venue's coin-margined perpetuals."""

    __slots__ = ("btc_contract_size", "label", "other_contract_size", "tier_bounds", "tiers_update", "whole_contracts")

    def __init__(
        self,
        label: str,
        btc_contract_size: float | None,
        other_contract_size: float | None,
        tier_bounds: str | None,
        tiers_update: bool,
        whole_contracts: bool = False,
    ) -> None:
        self.label = label
        """The family's name (``Venue.label`` names the linear one)."""
        self.btc_contract_size = btc_contract_size
        """USD per contract of the BTC perpetual; None where no size is bundled (give it)."""
        self.other_contract_size = other_contract_size
        """USD per contract of every other coin's perpetual; None where no size is bundled."""
        self.tier_bounds = tier_bounds
        """What bundled or cached tier bounds are in: ``"coin"`` (coin notional Q/P), ``"contracts"``
        (loaded x the USD contract size: the USD face value), or None (unverified: not used)."""
        self.tiers_update = tiers_update
        """True where ``liqwatch tiers update`` downloads the family's tier tables."""
        self.whole_contracts = whole_contracts
        """True where a position is a whole number of contracts (the venue trades no fraction of
        one): a size that is not is refused rather than priced as a position nobody can hold."""

    def contract_size(self, base: str) -> float | None:
        return self.btc_contract_size if base.upper() == "BTC" else self.other_contract_size


INVERSE: dict[str, InverseFamily] = {
    # COIN-M: CM = 100 USD for BTCUSD_PERP, 10 USD for the others; brackets qtyFloor/qtyCap in coin
    # notional (1.1). COIN-M brackets are private and not downloaded (the bundle has BTCUSD_PERP).
    "binance": InverseFamily("Binance COIN-M futures", 100.0, 10.0, "coin", False, whole_contracts=True),
    # 1 contract = 1 USD (1.2); risk limits of category inverse in the coin. Quantities step by 1.
    "bybit": InverseFamily("Bybit inverse", 1.0, 1.0, "coin", True, whole_contracts=True),
    # ctVal 100 USD (BTC-USD-SWAP), 10 USD the others (1.3); position tiers in contracts; lotSz 1.
    "okx": InverseFamily("OKX coin-margined swap", 100.0, 10.0, "contracts", True, whole_contracts=True),
    # quanto_multiplier 0 -> 1 USD, as ccxt reads it (1.6); risk_limit in the settle coin; integer sizes.
    "gate": InverseFamily("Gate BTC-settled perpetual", 1.0, 1.0, "coin", True, whole_contracts=True),
    # Contract size and the unit of COIN-FUTURES startUnit/endUnit unresolved (1.5).
    "bitget": InverseFamily("Bitget coin-M", None, None, None, True),
}
"""Each venue's coin-margined family; venues missing here list none (``Venue.supports_inverse``)."""

LINEAR_CONTRACT_SIZE: dict[str, float] = {"binance": 1.0, "bybit": 1.0, "bitget": 1.0, "hyperliquid": 1.0}
"""Base units per contract of linear perpetuals where it is the same for every market (OKX ctVal and
Gate quanto_multiplier differ per market: from the market's snapshot or cache entry)."""
