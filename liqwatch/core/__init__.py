"""The pure risk core: no I/O, no Textual, no ccxt, no websockets. Everything else calls it."""

from liqwatch.core.engine import assess, check_position, max_leverage_for
from liqwatch.core.errors import InputError
from liqwatch.core.model import AccountRisk, AdlInfo, PortfolioRisk, PositionRisk, PositionSpec
from liqwatch.core.tiers import Tier, TierTable, build_table, derive_maint_amounts, flat_table
from liqwatch.core.venues import VENUES, Venue, get_venue

__all__ = [
    "VENUES",
    "AccountRisk",
    "AdlInfo",
    "InputError",
    "PortfolioRisk",
    "PositionRisk",
    "PositionSpec",
    "Tier",
    "TierTable",
    "Venue",
    "assess",
    "build_table",
    "check_position",
    "derive_maint_amounts",
    "flat_table",
    "get_venue",
    "max_leverage_for",
]
