"""Symbol names: ccxt unified (``BTC/USDT:USDT``) and each venue's native form.

Native forms accepted: ``BTCUSDT`` (Binance, Bybit, Bitget), ``BTC-USDT-SWAP`` (OKX), ``BTC_USDT``
(Gate), ``BTC_USDC-PERPETUAL`` and the inverse ``BTC-PERPETUAL`` (Deribit), ``BTC`` and builder-dex
``xyz:XYZ100`` (Hyperliquid, settled in USDC; ccxt writes the latter ``XYZ-XYZ100/USDC:USDC``).
Matching is case-insensitive.
"""

from __future__ import annotations

import re

_QUOTES = ("USDT", "USDC", "USD")
_COIN = r"[^\W_]+"
"""A base coin: letters and digits of any script (Binance lists ``我踏马来了/USDT:USDT``), no "_"."""
_UNIFIED = re.compile(r"^([^\W_](?:[^\W_]|-)*)/([A-Z0-9]+):([A-Z0-9]+)$")
_HIP3 = re.compile(rf"^({_COIN}):({_COIN})$")  # Hyperliquid builder dex "xyz:XYZ100"
_DASH_SWAP = re.compile(rf"^({_COIN})-([A-Z0-9]+)-SWAP$")
_PERPETUAL = re.compile(rf"^({_COIN})(?:_([A-Z0-9]+))?-PERPETUAL$")  # BTC_USDC-PERPETUAL, BTC-PERPETUAL (inverse)
_UNDERSCORED = re.compile(rf"^({_COIN})_([A-Z0-9]+)$")
_SPOTLIKE = re.compile(rf"^({_COIN})/([A-Z0-9]+)$")
_UNIFIED_ANY_CASE = re.compile(r"^([^\W_](?:[^\W_]|-)*)/([A-Za-z0-9]+):([A-Za-z0-9]+)$")


def unified_match(text: str) -> re.Match[str] | None:
    """``BASE/QUOTE:SETTLE`` already in upper case, as (base, quote, settle) groups, else None."""
    return _UNIFIED.match(text)


def unified_parts(symbol: str) -> tuple[str, str, str] | None:
    """(base as written, quote, settle) of a ccxt unified symbol (``BTC/USDT:USDT``; quote and
    settle upper-cased), or None when ``symbol`` is not in that form."""
    m = _UNIFIED_ANY_CASE.match(symbol.strip())
    return (m[1], m[2].upper(), m[3].upper()) if m else None


def to_unified(symbol: str, settle: str = "USDT") -> str | None:
    """Best-effort unified symbol for ``symbol`` as a user typed it, or None when unparseable.

    ``settle`` is the venue's settle currency, used for a bare coin (Hyperliquid ``BTC``)."""
    text = symbol.strip().upper()
    if not text:
        return None
    if m := _UNIFIED.match(text):
        return f"{m[1]}/{m[2]}:{m[3]}"
    if m := _HIP3.match(text):
        return f"{m[1]}-{m[2]}/{settle}:{settle}"
    if m := _DASH_SWAP.match(text):
        return f"{m[1]}/{m[2]}:{m[2]}"
    if m := _PERPETUAL.match(text):  # no quote: a USD contract settled in the coin
        return f"{m[1]}/{m[2]}:{m[2]}" if m[2] else f"{m[1]}/USD:{m[1]}"
    if m := _UNDERSCORED.match(text):
        return f"{m[1]}/{m[2]}:{m[2]}"
    if m := _SPOTLIKE.match(text):
        return f"{m[1]}/{m[2]}:{m[2]}"
    for quote in _QUOTES:
        if text.endswith(quote) and len(text) > len(quote):
            base = text[: -len(quote)]
            if re.fullmatch(_COIN, base):
                return f"{base}/{quote}:{quote}"
    if re.fullmatch(_COIN, text):
        return f"{text}/{settle}:{settle}"
    return None
