"""okx REST adapter: see the class docstring for which field means what."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Literal

from liqwatch.feeds.events import AccountModeName, CollateralRow, CollateralTierRow, TierRowData
from liqwatch.feeds.parse import DataError, MarginMode, PositionSide, as_dict, as_list, lights, num, positive
from liqwatch.feeds.venue_rest import (
    MIN_LEVERAGE,
    Leg,
    PositionSnapshot,
    VenueRest,
    inverted,
    is_inverse,
    taken,
    tier_entry,
)

_LEVELS: dict[str, tuple[AccountModeName, str]] = {
    "1": ("single", "spot mode"),
    "2": ("single", "futures mode, single-currency margin"),
    "3": ("multi_assets", "multi-currency margin"),
    "4": ("portfolio", "portfolio margin"),
}
"""``/api/v5/account/config`` ``acctLv`` -> (liqwatch's mode, OKX's name for it)."""

if TYPE_CHECKING:
    from liqwatch.feeds.account import Account as AccountConfig


class OkxRest(VenueRest):
    """OKX v5 USDT-margined SWAP.

    positions: ``GET /api/v5/account/positions?instType=SWAP``; size = ``pos`` contracts x ``ctVal``;
    margin mode ``mgnMode``; hedge legs ``posSide`` long/short (``net`` = one-way); isolated margin =
    ``margin`` (excludes ``upl``); ``liqPx`` "" -> None; ADL = ``adl`` 1-5 as is.
    balance: USDT detail of ``GET /api/v5/account/balance``: ``eq - isoEq - (upl - isoUpl)`` (cross
    equity less cross unrealized PnL), falling back to ``cashBal``.
    tiers: public ``GET /api/v5/public/position-tiers`` (``tdMode`` cross); ``minSz``/``maxSz`` are
    contracts, converted to base units with ``ctVal`` (basis "quantity"); each tier's floor is the
    previous tier's cap (OKX prints fractional minSz); no maintenance amount.
    marks: ``GET /api/v5/public/mark-price?instType=SWAP`` ``markPx``.
    taker rate (the liquidation fee's, in the formula): ``GET /api/v5/account/trade-fee?instType=SWAP``,
    the ``feeGroup`` entry of the market's ``groupId`` (public instruments), else ``takerU``
    (USDT-margined; ``takerUSDC`` for USDC); OKX signs charges negative. Not ccxt's
    ``fetch_trading_fee``: it reads ``taker`` first, the crypto-margined contracts' rate.

    Coin-margined swaps (config ``inverse``; ``BTC/USD:BTC``, id ``BTC-USD-SWAP``): the same
    ``instType=SWAP`` read returns them; size = ``pos`` x ``ctVal`` (100 USD for BTC) in USD;
    ``margin`` in the coin; coin wallets: the held settle coins' details of the balance (same
    formula); taker rate: the ``feeGroup`` entry, else ``taker`` (crypto-margined).
    """

    name = "okx"
    ccxt_id = "okx"
    liq_field = "liqPx"
    tier_basis = "quantity"
    tier_note = "OKX position tiers: contracts converted to base units with ctVal"
    tier_source = "/api/v5/public/position-tiers"
    public_host = "https://www.okx.com"
    tier_file_basis = "contracts"
    tier_boundary = "cap_inclusive"
    tier_inverse_unit = "contracts (minSz/maxSz as published; contract_size = ctVal in USD)"
    account_taker_rate = True
    fee_endpoint = "GET /api/v5/account/trade-fee"

    lists_inverse = True

    def __init__(self) -> None:
        super().__init__()
        self._balances: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
        """Per ccxt client, the latest ``/api/v5/account/balance`` answer (the venue ratio reuses it)."""
        self._multi: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
        """Clients whose account is multi-currency or portfolio margin (acctLv 3, 4): the balance reads
        every currency."""
        self._collateral_source: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
        """The latest balance answer with every currency's detail, for :meth:`collateral`."""

    async def collateral_tiers(self, ex: Any) -> dict[str, list[CollateralTierRow]]:
        return await okx_discount_tiers(ex)

    async def collateral_table(self, ex: Any) -> dict[str, dict[str, Any]]:
        return {ccy: tier_entry(rows) for ccy, rows in (await okx_discount_tiers(ex)).items() if rows}

    async def collateral(self, ex: Any, account: AccountConfig, mode: AccountModeName) -> list[CollateralRow]:
        """Multi-currency margin (acctLv 3): every currency of ``/api/v5/account/balance``
        ``details[]`` (the balance's own read, every currency once the mode is known): amount ``eq -
        isoEq - (upl - isoUpl)`` (cross equity less its unrealized PnL: liqwatch's at its marks;
        isolated positions keep their own margin), USD price ``eqUsd / eq``, valued at its
        discount-rate tiers by quantity from the public ``GET
        /api/v5/public/discount-rate-interest-free-quota`` (``details[]`` ``minAmt``/``maxAmt`` ""
        = no end, ``discountRate``; past the last tier's ``maxAmt``, ``minDiscountRate``); a
        negative equity (a liability) at full value (adjEq: "the platform calculates the actual
        USD value of each currency based on discount rates"). A currency not enabled as
        collateral (``collateralEnabled`` false) counts 0 when positive. A held currency without a
        price or tiers is refused (DataError): no figure of ours then.

        Portfolio margin (acctLv 4): the same ``details[]``, each currency as OKX values it, shown as
        the venue's: amount ``eq - upl`` (its balance net of liabilities), PnL ``upl``, USD value
        ``eqUsd`` and collateral value ``disEq`` ("discount equity of currency in USD") as sent; no
        table is read (OKX gives the discounted value itself)."""
        response = self._collateral_source.pop(ex, None)
        if mode not in ("multi_assets", "portfolio"):
            return []
        if response is None:
            response = as_dict(await ex.privateGetAccountBalance())
        if mode == "portfolio":
            return self._venue_details(response)
        held: list[tuple[str, float, float | None, bool]] = []
        for entry in as_list(response.get("data")):
            for detail in as_list(as_dict(entry).get("details")):
                row = as_dict(detail)
                name, eq = str(row.get("ccy", "")), num(row.get("eq"))
                if not name or eq is None:
                    continue
                amount = (
                    eq
                    - (num(row.get("isoEq")) or 0.0)
                    - ((num(row.get("upl")) or 0.0) - (num(row.get("isoUpl")) or 0.0))
                )
                if amount == 0:
                    continue
                usd = num(row.get("eqUsd"))
                price = usd / eq if usd is not None and eq else None
                held.append(
                    (
                        name,
                        amount,
                        price if price is not None and price > 0 else None,
                        row.get("collateralEnabled") is not False,
                    )
                )
        need = {name for name, _, _, counted in held if counted}
        tables = await self._tables(ex, need) if need else {}
        out: list[CollateralRow] = []
        for name, amount, price, counted in held:
            if price is None:
                raise DataError(f"account balance gives no USD price for {name} (eqUsd / eq; a {name} balance is held)")
            if not counted:
                out.append(CollateralRow(asset=name, amount=amount, price=price, ratio=0.0))
                continue
            tiers = tables.get(name)
            if not tiers:
                raise DataError(
                    f"no /api/v5/public/discount-rate-interest-free-quota tiers for {name} (a {name} balance is held)"
                )
            out.append(CollateralRow(asset=name, amount=amount, price=price, tiers=tiers, tier_basis="quantity"))
        return out

    @staticmethod
    def _venue_details(response: dict[str, Any]) -> list[CollateralRow]:
        """Every ``details[]`` currency with a non-zero ``eq`` as OKX values it (``eqUsd``,
        ``disEq``); a held one without them is refused (DataError)."""
        out: list[CollateralRow] = []
        for entry in as_list(response.get("data")):
            for detail in as_list(as_dict(entry).get("details")):
                row = as_dict(detail)
                name, eq = str(row.get("ccy", "")), num(row.get("eq"))
                if not name or not eq:
                    continue
                usd, dis = num(row.get("eqUsd")), num(row.get("disEq"))
                price = usd / eq if usd is not None else None
                if price is None or price <= 0 or dis is None:
                    raise DataError(f"account balance gives no eqUsd and disEq for {name} (a {name} balance is held)")
                upl = num(row.get("upl")) or 0.0
                out.append(
                    CollateralRow(
                        asset=name, amount=eq - upl, price=price, pnl=upl, value_usd=usd, collateral_value_usd=dis
                    )
                )
        return out

    def options(self) -> dict[str, Any]:
        return {"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap"}

    async def account_mode(self, ex: Any, account: AccountConfig) -> tuple[AccountModeName, str]:
        rows = as_list(as_dict(await ex.privateGetAccountConfig()).get("data"))
        level = str(as_dict(rows[0]).get("acctLv", "")) if rows else ""
        found = _LEVELS.get(level)
        self._multi[ex] = level in ("3", "4")  # multi-currency and portfolio margin: every currency
        if found is None:
            return "unknown", f"okx acctLv {level or '(none)'} is not one liqwatch knows"
        return found[0], f"okx acctLv {level} ({found[1]})"

    async def venue_ratio(
        self, ex: Any, account: AccountConfig, mode: AccountModeName
    ) -> tuple[float | None, dict[str, float | str | None]]:
        """``mgnRatio`` of ``/api/v5/account/balance`` is adjusted equity / maintenance margin
        (liquidation when it falls to 1): liqwatch's ratio is its inverse. Multi-currency and
        portfolio margin: the account's (from ``adjEq``); single-currency margin: the settle
        currency's cross ``details[].mgnRatio``; spot mode: none."""
        response = taken(self._balances, ex) or as_dict(await ex.privateGetAccountBalance({"ccy": self.settle}))
        entry = as_dict((as_list(response.get("data")) or [{}])[0])
        if mode in ("multi_assets", "portfolio", "unknown"):
            ratio = num(entry.get("mgnRatio"))
            inputs: dict[str, float | str | None] = {
                "mgnRatio": ratio,
                "adjEq": num(entry.get("adjEq")),
                "mmr": num(entry.get("mmr")),
            }
            return inverted(ratio), inputs
        detail = next((as_dict(d) for d in as_list(entry.get("details")) if as_dict(d).get("ccy") == self.settle), {})
        ratio = num(detail.get("mgnRatio"))
        where = f"details[{self.settle}]"
        return inverted(ratio), {f"{where}.mgnRatio": ratio, f"{where}.mmr": num(detail.get("mmr"))}

    def inverse_options(self) -> dict[str, Any]:
        return self.options()  # the swap markets hold both

    async def inverse_balances(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> list[tuple[float, str, float | None]]:
        settles = sorted({p.settle for p in positions.positions if p.inverse and p.settle})
        if not settles:
            return []
        response = as_dict(await ex.privateGetAccountBalance({"ccy": ",".join(settles)}))
        return [self._wallet(response, coin) for coin in settles]

    def positions_params(self, account: AccountConfig) -> dict[str, Any]:
        return {"instType": "SWAP"}

    def margin_mode(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> MarginMode:
        mode = str(info.get("mgnMode", p.get("marginMode") or "cross"))
        return "isolated" if mode == "isolated" else "cross"

    def position_side(self, p: dict[str, Any], info: dict[str, Any]) -> PositionSide:
        side = str(info.get("posSide", "net"))
        return "long" if side == "long" else "short" if side == "short" else "both"

    def side(self, p: dict[str, Any], info: dict[str, Any]) -> Literal["long", "short"]:
        pos_side = str(info.get("posSide", "net"))
        if pos_side in ("long", "short"):
            return "long" if pos_side == "long" else "short"
        pos = num(info.get("pos"))
        if pos is not None and pos != 0:
            return "long" if pos > 0 else "short"
        return super().side(p, info)

    def leverage(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> float | None:
        return positive(info.get("lever")) or positive(p.get("leverage"))

    def isolated_margin(
        self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any], leg: Leg
    ) -> tuple[float | None, str]:
        # isolated ``margin`` (added or reduced with the position; no fee reserve): the numerator
        # of mgnRatio = (margin + upl) / (MM + liquidation fee). ``imr`` is the cross field.
        return num(info.get("margin")), ""

    def mark_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        return positive(info.get("markPx")) or positive(p.get("markPrice"))

    def adl(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> int | None:
        return lights(info.get("adl"))

    async def taker_rates(self, ex: Any, symbols: list[str]) -> dict[str, float]:
        response = as_dict(await ex.privateGetAccountTradeFee({"instType": "SWAP"}))
        row = next((as_dict(r) for r in as_list(response.get("data")) if as_dict(r)), {})
        groups = {
            str(g.get("groupId")): g
            for g in (as_dict(item) for item in as_list(row.get("feeGroup")))
            if g.get("groupId") not in (None, "")
        }
        out: dict[str, float] = {}
        for symbol in symbols:
            market = as_dict(ex.markets.get(symbol))
            group = groups.get(str(as_dict(market.get("info")).get("groupId")))
            if group is not None:
                value = num(group.get("taker"))
            else:  # the per-margin-currency fields (deprecated in the docs, still sent)
                value = num(row.get({"USDT": "takerU", "USDC": "takerUSDC"}.get(str(market.get("settle")), "taker")))
            if value is not None:
                out[symbol] = -value  # OKX: negative = charged, positive = rebate
        return out

    async def balance(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> tuple[float, str, float | None]:
        every = self._multi.get(ex, False)  # multi-currency / portfolio margin: every currency is collateral
        response = as_dict(await ex.privateGetAccountBalance({} if every else {"ccy": self.settle}))
        self._balances[ex] = response
        if every:
            self._collateral_source[ex] = response
        return self._wallet(response, self.settle)

    @staticmethod
    def _wallet(response: dict[str, Any], coin: str) -> tuple[float, str, float | None]:
        for entry in as_list(response.get("data")):
            for detail in as_list(as_dict(entry).get("details")):
                row = as_dict(detail)
                if row.get("ccy") != coin:
                    continue
                ts = None  # uTime is the last change, not the time of the answer
                eq = num(row.get("eq"))
                if eq is not None:
                    iso_eq = num(row.get("isoEq")) or 0.0
                    upl = num(row.get("upl")) or 0.0
                    iso_upl = num(row.get("isoUpl")) or 0.0
                    return eq - iso_eq - (upl - iso_upl), coin, ts
                cash = num(row.get("cashBal"))
                if cash is not None:
                    return cash, coin, ts
        raise DataError(f"account balance has no {coin} detail")

    async def tiers(
        self, ex: Any, symbols: list[str], has_keys: bool
    ) -> list[tuple[str, Literal["notional", "quantity"], list[TierRowData], str]]:
        found = await super().tiers(ex, symbols, has_keys)
        inverse_note = "OKX position tiers: contracts x ctVal = USD face value (coin-margined)"
        return [
            (symbol, basis, rows, inverse_note if is_inverse(as_dict(ex.markets.get(symbol))) else note)
            for symbol, basis, rows, note in found
        ]

    def tier_rows(self, ex: Any, symbol: str, tiers: list[dict[str, Any]]) -> list[TierRowData]:
        ct_val = positive(as_dict(ex.markets[symbol]).get("contractSize")) or 1.0
        rows: list[TierRowData] = []
        floor = 0.0
        for t in sorted(tiers, key=lambda r: num(r.get("tier")) or 0.0):
            mmr = num(t.get("maintenanceMarginRate"))
            cap = positive(t.get("maxNotional"))
            if mmr is None:
                continue
            rows.append(
                TierRowData(
                    min_notional=floor,
                    max_notional=cap * ct_val if cap is not None else None,
                    mmr=mmr,
                    max_leverage=positive(t.get("maxLeverage")) or MIN_LEVERAGE,
                    maint_amount=None,
                )
            )
            if cap is not None:
                floor = cap * ct_val
        return rows

    def ticker_mark(self, ticker: dict[str, Any]) -> float | None:
        return positive(as_dict(ticker.get("info")).get("markPx")) or positive(ticker.get("markPrice"))


def discount_tier_rows(entry: dict[str, Any]) -> list[CollateralTierRow]:
    """One currency's ``details[]`` of ``/api/v5/public/discount-rate-interest-free-quota`` as
    quantity tiers (``minAmt``, ``maxAmt`` "" = no end, ``discountRate``), with the
    ``minDiscountRate`` tier past a last ``maxAmt``; raises DataError for a row that is not numbers."""
    out: list[CollateralTierRow] = []
    for item in as_list(entry.get("details")):
        tier = as_dict(item)
        low, rate = num(tier.get("minAmt")), num(tier.get("discountRate"))
        high = None if tier.get("maxAmt") in ("", None) else num(tier.get("maxAmt"))
        if low is None or rate is None or (high is None and tier.get("maxAmt") not in ("", None)):
            raise DataError(f"malformed discount-rate tier {tier!r}")
        out.append(CollateralTierRow(min=low, max=high, ratio=rate))
    out.sort(key=lambda t: t.min)
    if out and out[-1].max is not None:
        floor = num(entry.get("minDiscountRate"))
        out.append(CollateralTierRow(min=out[-1].max, max=None, ratio=floor if floor is not None else 0.0))
    return out


async def okx_discount_tiers(ex: Any) -> dict[str, list[CollateralTierRow]]:
    """Every currency's discount-rate tiers: the public ``GET
    /api/v5/public/discount-rate-interest-free-quota`` (no ``ccy``: every currency) -> ccy -> tiers."""
    response = as_dict(await ex.publicGetPublicDiscountRateInterestFreeQuota())
    out: dict[str, list[CollateralTierRow]] = {}
    for item in as_list(response.get("data")):
        entry = as_dict(item)
        ccy = entry.get("ccy")
        if isinstance(ccy, str) and ccy:
            out[ccy.upper()] = discount_tier_rows(entry)
    return out
