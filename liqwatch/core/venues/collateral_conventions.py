"""How each venue reads a multi-collateral account (``liqwatch.core.collateral``), in one place:
the venue's own account ratio where its convention differs from liqwatch's, the level at which it
liquidates, and which venues' portfolio margin keeps the bracket maintenance margin.

Sources (shared reference ``collateral.md`` §0, §1.3, §3, §7):

* Binance Portfolio Margin / PM Pro: uniMMR = sum adjusted equity / sum MM; "Traders must keep a
  uniMMR above 1.05"; futuresMM = |MMR x Q x mark| - cum, the bracket formula (support FAQ
  174861644e7049aaa64845f1db2e4376, PM Pro ratio FAQ 5e33af8e6ac04d57a1d0a3398e0a0752).
* OKX multi-currency margin: ``mgnRatio`` "maintenance margin ratio in USD" = adjEq / mmr,
  liquidation at <= 100 % (API v5 ``/account/balance``).
* Gate unified multi-currency: ``total_maintenance_margin_rate`` = margin balance / MM,
  liquidation at <= 100 % (``GET /unified/accounts``; 3382495.94 / 205.01 = 16499.14).
* Binance Multi-Assets, Bybit UTA (``accountMMRate``), Bitget and Deribit read MM / equity with
  liquidation at 100 %, as liqwatch does: no native figure of their own.
* Bitget multi-asset mode, hedge mode: "Maintenance margin 1 = (larger position value + order
  value) x (MMR of the corresponding tier + liquidation fee rate)" (support article 12560603812664,
  "Risk management for USDT-M positions in multi-asset mode"): only the larger leg of a hedged
  symbol counts, which the core's per-leg sum does not model (refused, see
  :data:`LARGER_HEDGE_LEG_ONLY`).
* OKX, Bybit, Gate, Deribit and Hyperliquid portfolio margin set MM by stress scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AccountConvention:
    """The venue's own ratio (effective equity / MM) by name, and the value of MM / effective
    equity at which the venue liquidates, as its inverse ``trigger`` (1.05 = uniMMR 105 %)."""

    native_name: str | None = None
    trigger: float = 1.0


ACCOUNT_CONVENTIONS: dict[tuple[str, str], AccountConvention] = {
    ("binance", "portfolio"): AccountConvention("uniMMR", 1.05),
    ("okx", "multi_assets"): AccountConvention("mgnRatio"),
    ("gate", "multi_assets"): AccountConvention("total_maintenance_margin_rate"),
}
"""(venue, account mode) -> convention; a pair absent here reads the account as liqwatch does."""

PORTFOLIO_BRACKET_MM: frozenset[str] = frozenset({"binance"})
"""Venues whose portfolio-margin MM is the bracket formula the engine computes."""

LIABILITY_MM_UNMODELLED: dict[str, str] = {
    "gate": "Gate adds a tiered maintenance margin on liabilities (GET /unified/loan_margin_tiers)",
    "bitget": "Bitget adds |liability| x a tiered rate - offset since 2026-06-25 (support 12560603884259)",
    "bybit": "Bybit's total maintenance margin includes one on borrowed assets (UTA glossary: "
    "Total MM = sum of MM on borrowed assets + MM for open positions + MM for active orders)",
    "okx": "OKX counts a maintenance margin on borrowings (liabilities) in its mmr (tiered by the amount borrowed)",
}
"""Venues that add a maintenance margin on a negative equity (a liability, e.g. USDT below zero
after losses, Bybit's spot borrow) which the core does not model: :func:`liqwatch.core.collateral.liability_warnings`
says where it applies (the MM, and so the ratio, are understated there)."""

LARGER_HEDGE_LEG_ONLY: frozenset[str] = frozenset({"bitget"})
"""Venues whose multi-asset MM counts only the larger leg of a hedged symbol: both legs of one
symbol are refused there (one leg, or one-way positions, are computed)."""

PORTFOLIO_EFFECTIVE_EQUITY: dict[str, str] = {
    "binance": "accountEquity",
    "bybit": "totalMarginBalance",
    "okx": "adjEq",
    "gate": "total_margin_balance",
}
"""Per venue, the field among its account-ratio inputs (``venue_inputs``) holding its own effective
equity in USD after its collateral rates, shown beside a portfolio-margin account's collateral:
Binance PM ``GET /papi/v1/account`` ``accountEquity`` ("account equity, in USD value";
``actualEquity`` is the one "without collateral rate"); Bybit ``totalMarginBalance`` (the wallet
balance at the collateral value ratios + perp UPL); OKX ``adjEq`` ("adjusted / effective equity in
USD", by discount rates); Gate ``total_margin_balance`` ("sum of positive equity x index price x
discount + negative equity x index price"). Deribit and Hyperliquid: none read."""
