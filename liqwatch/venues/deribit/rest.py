"""deribit REST adapter: see the class docstring for which field means what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from liqwatch.core.venues.deribit import RAMPS, account_margin_ratio
from liqwatch.feeds.events import AccountModeName, PositionData, TierRowData
from liqwatch.feeds.parse import DataError, MarginMode, as_dict, as_list, num, positive
from liqwatch.feeds.venue_rest import PositionSnapshot, VenueRest, inverse_part, ratio_of

if TYPE_CHECKING:
    from liqwatch.feeds.account import Account as AccountConfig

LINEAR_CURRENCY = "USDC"
"""The collateral currency of Deribit's linear perpetuals (``BTC_USDC-PERPETUAL``, ...)."""


STANDARD_MARGIN = "segregated_sm"
"""The margin model liqwatch recomputes: standard margin, each currency's account on its own."""

_MODELS: dict[str, AccountModeName] = {
    "segregated_sm": "single",
    "cross_sm": "multi_assets",
    "segregated_pm": "portfolio",
    "cross_pm": "portfolio",
}
"""``margin_model`` -> liqwatch's mode: cross standard margin pools every cross-collateral currency
in USD (multi-assets); portfolio margin is a risk-matrix (scenario) requirement."""


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """One currency's ``private/get_account_summary``: Deribit's own account-level figures."""

    currency: str
    equity: float
    maintenance_margin: float | None
    initial_margin: float | None
    margin_balance: float | None
    margin_model: str | None = None
    """``margin_model`` (``segregated_sm``, ``cross_sm``, ``segregated_pm``, ``cross_pm``) where sent."""

    @property
    def margin_ratio(self) -> float | None:
        """Maintenance margin / equity: 1.0 = Deribit starts liquidating the account."""
        return account_margin_ratio(self.maintenance_margin, self.equity)


INVERSE_CURRENCIES = ("BTC", "ETH")
"""The coin accounts holding Deribit's inverse perpetuals (``BTC-PERPETUAL``, ``ETH-PERPETUAL``)."""

NO_OWN_PRICE = (
    "account-level margin with parameters Deribit does not publish in a recomputable form: "
    "no liqwatch liquidation price; Deribit's estimate is shown as the venue's"
)


@dataclass(frozen=True, slots=True)
class VenueEstimate:
    """An inverse position as Deribit reports it: liqwatch computes nothing for it but shows these,
    each labelled as the venue's, beside its account's margin ratio."""

    symbol: str
    side: Literal["long", "short"]
    size_usd: float
    """USD face value (``size``: contracts x 10 USD on BTC-PERPETUAL)."""
    contracts: float | None
    entry_price: float
    mark_price: float | None
    venue_liquidation_price: float | None
    """``estimated_liquidation_price`` (0/null -> None)."""
    maintenance_margin: float | None
    """In the coin, as Deribit reports it for the position."""
    settle: str
    liquidation_price: None = None
    """liqwatch's own: always None (:data:`NO_OWN_PRICE`)."""
    reason: str = NO_OWN_PRICE


@dataclass(frozen=True, slots=True)
class InverseAccount:
    """One coin account: Deribit's own summary (its margin ratio = MM / equity) and its inverse
    perpetuals as the venue estimates them."""

    summary: AccountSummary
    positions: tuple[VenueEstimate, ...]


class DeribitRest(VenueRest):
    """Deribit API v2 (JSON-RPC over HTTP GET), USDC linear perpetuals, read-only.

    Credentials: Deribit's API ``client_id`` / ``client_secret`` are ccxt's ``apiKey`` / ``secret``
    (the config's ``api_key_env`` / ``api_secret_env``); a read-only key is enough.
    positions: ``GET /api/v2/private/get_positions?currency=USDC&kind=future``. For a linear
    instrument ``size`` is in the base coin (not contracts: the adapter takes it as the size, never
    x ``contract_size``); ``direction`` buy/sell; ``average_price`` entry; ``mark_price``;
    ``estimated_liquidation_price`` is Deribit's account-level estimate (0/null -> None); every
    position is cross (account-level margin); no ADL indicator.
    balance: ``GET /api/v2/private/get_account_summary?currency=USDC``: the cross wallet is
    ``equity`` less the positions' unrealized PnL at the positions' own marks (Deribit settles
    futures PnL into ``balance`` at each session, so ``balance`` is not the wallet liqwatch's
    PnL from the average price adds to). Options in the USDC account are not modelled.
    tiers: none published; the USDC linear perpetuals follow a size ramp (support article
    25944738177565, :data:`liqwatch.core.venues.deribit.RAMPS`), given as its size-0 row.
    marks: ``GET /api/v2/public/get_book_summary_by_currency?currency=<settle>&kind=future`` ``mark_price``.
    Inverse perpetuals (``BTC-PERPETUAL``, ``ETH-PERPETUAL``; config ``inverse``): read from the coin
    accounts (``get_positions?currency=BTC``/``ETH``), size = USD face value, listed with Deribit's
    estimate only (account-level margin: the core refuses to price them); :meth:`account_figures`
    gives each coin account's maintenance margin and equity (their margin ratio), and
    :meth:`inverse_accounts` the same as plain records.
    """

    name = "deribit"
    ccxt_id = "deribit"
    settle = LINEAR_CURRENCY
    liq_field = "estimated_liquidation_price"
    balance_uses_positions = True
    tier_source = "/api/v2/public/get_instruments"
    public_host = "https://www.deribit.com"
    tier_download = "all_at_once"
    tier_file_basis = "contracts"  # size-based rows (the ramp's size basis), in base units
    tier_boundary = "cap_inclusive"
    tier_basis = "quantity"
    tier_note = "Deribit margin ramp (no tier endpoint): the size-0 rates, the core applies the size"

    def options(self) -> dict[str, Any]:
        return {"fetchMarkets": {"fetchAllMarkets": True}, "defaultType": "swap"}

    def positions_params(self, account: AccountConfig) -> dict[str, Any]:
        return {"currency": LINEAR_CURRENCY, "kind": "future"}

    # ---- inverse perpetuals (config ``inverse``): listed with Deribit's own estimate only

    lists_inverse = True

    def inverse_options(self) -> dict[str, Any]:
        return self.options()  # every instrument is loaded already

    async def raw_inverse_positions(self, ex: Any, account: AccountConfig) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for currency in INVERSE_CURRENCIES:
            result = await ex.fetch_positions(None, {"currency": currency, "kind": "future"})
            rows += [as_dict(p) for p in as_list(result)]
        return rows

    async def account_figures(self, ex: Any, account: AccountConfig) -> dict[str, tuple[float | None, float | None]]:
        """The coin accounts' own maintenance margin and equity (the inverse perpetuals' ratio)."""
        out: dict[str, tuple[float | None, float | None]] = {}
        if self.reads_inverse(account):
            with inverse_part():
                for currency in INVERSE_CURRENCIES:
                    summary = await self.account_summary(ex, currency)
                    out[currency] = (summary.maintenance_margin, summary.equity)
        return out

    async def inverse_balances(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> list[tuple[float, str, float | None]]:
        """Each coin account's wallet behind its inverse perpetuals: ``equity`` less their PnL
        s x Q x (1/EP - 1/mark) at the rows' marks (in the coin)."""
        out: list[tuple[float, str, float | None]] = []
        for currency in INVERSE_CURRENCIES:
            held = [p for p in positions.positions if p.inverse and (p.settle or "").upper() == currency]
            if not held:
                continue
            summary = await self.account_summary(ex, currency)
            upnl = 0.0
            for p in held:
                if p.mark_price is None:
                    raise DataError(f"position {p.symbol} has no mark price: the wallet cannot be derived")
                upnl += (1 if p.side == "long" else -1) * p.size * (1 / p.entry_price - 1 / p.mark_price)
            out.append((summary.equity - upnl, currency, None))
        return out

    def position(self, ex: Any, p: dict[str, Any], context: dict[str, Any]) -> PositionData:
        data = super().position(ex, p, context)
        info = as_dict(p.get("info"))
        size = num(info.get("size"))
        if size is None or size == 0:
            raise DataError(f"position {data.symbol} has no size")
        # ``size`` is the base coin for a linear instrument (contracts x contract_size already) and
        # the USD face value for an inverse one; ccxt's ``contracts`` is that same number
        update: dict[str, Any] = {"size": abs(size)}
        if data.inverse and data.contract_size:
            update["contracts"] = abs(size) / data.contract_size
        return data.model_copy(update=update)

    def margin_mode(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> MarginMode:
        return "cross"  # Deribit margins the whole account (per collateral currency)

    def mark_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        return positive(info.get("mark_price")) or positive(p.get("markPrice"))

    async def account_mode(self, ex: Any, account: AccountConfig) -> tuple[AccountModeName, str]:
        """``margin_model`` of ``private/get_account_summary?currency=USDC`` (older payloads:
        ``portfolio_margining_enabled``; neither: standard segregated margin, Deribit's default)."""
        model = (await self.account_summary(ex, LINEAR_CURRENCY)).margin_model or STANDARD_MARGIN
        mode = _MODELS.get(model)
        if mode is None:
            return "unknown", f"deribit margin_model {model} is not one liqwatch knows"
        return mode, f"deribit margin_model {model}"

    async def venue_ratio(
        self, ex: Any, account: AccountConfig, mode: AccountModeName
    ) -> tuple[float | None, dict[str, float | str | None]]:
        """Maintenance margin / margin balance (Deribit liquidates above 100 %): cross models from
        the USD totals (``total_maintenance_margin_usd`` / ``total_margin_balance_usd``), segregated
        ones from the USDC account's ``maintenance_margin`` / ``margin_balance``."""
        response = as_dict(await ex.privateGetGetAccountSummary({"currency": LINEAR_CURRENCY}))
        data = as_dict(response.get("result"))
        total_mm, total_mb = num(data.get("total_maintenance_margin_usd")), num(data.get("total_margin_balance_usd"))
        if str(data.get("margin_model", "")).startswith("cross") and total_mm is not None and total_mb is not None:
            inputs: dict[str, float | str | None] = {
                "total_maintenance_margin_usd": total_mm,
                "total_margin_balance_usd": total_mb,
            }
            return ratio_of(total_mm, total_mb), inputs
        mm, mb = num(data.get("maintenance_margin")), num(data.get("margin_balance"))
        return ratio_of(mm, mb), {"maintenance_margin": mm, "margin_balance": mb}

    async def account_summary(self, ex: Any, currency: str) -> AccountSummary:
        """The currency account's equity, maintenance and initial margin as Deribit reports them."""
        response = as_dict(await ex.privateGetGetAccountSummary({"currency": currency}))
        data = as_dict(response.get("result"))
        equity = num(data.get("equity"))
        if equity is None:
            raise DataError(f"account summary ({currency}) has no equity")
        return AccountSummary(
            currency=currency,
            equity=equity,
            maintenance_margin=num(data.get("maintenance_margin")),
            initial_margin=num(data.get("initial_margin")),
            margin_balance=num(data.get("margin_balance")),
            margin_model=_margin_model(data),
        )

    async def inverse_accounts(self, ex: Any) -> list[InverseAccount]:
        """Every coin account holding an inverse perpetual: its summary and the positions as Deribit
        estimates them (``get_positions?currency=<coin>&kind=future``, perpetuals only). Not yet fed
        to the state store (docs/venues/deribit.md, "Inverse perpetuals")."""
        out: list[InverseAccount] = []
        for currency in INVERSE_CURRENCIES:
            response = as_dict(await ex.privateGetGetPositions({"currency": currency, "kind": "future"}))
            estimates: list[VenueEstimate] = []
            for row in as_list(response.get("result")):
                info = as_dict(row)
                size = num(info.get("size"))
                market = as_dict(ex.markets_by_id.get(str(info.get("instrument_name")), [None])[0])
                if not size or not market.get("inverse") or not market.get("swap"):
                    continue
                entry = positive(info.get("average_price"))
                if entry is None:
                    raise DataError(f"position {info.get('instrument_name')} has no average price")
                contract = positive(market.get("contractSize"))
                estimates.append(
                    VenueEstimate(
                        symbol=str(market.get("symbol")),
                        side="long" if info.get("direction") == "buy" else "short",
                        size_usd=abs(size),
                        contracts=abs(size) / contract if contract else None,
                        entry_price=entry,
                        mark_price=positive(info.get("mark_price")),
                        venue_liquidation_price=positive(info.get("estimated_liquidation_price")),
                        maintenance_margin=num(info.get("maintenance_margin")),
                        settle=currency,
                    )
                )
            if estimates:
                out.append(InverseAccount(await self.account_summary(ex, currency), tuple(estimates)))
        return out

    async def balance(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> tuple[float, str, float | None]:
        summary = await self.account_summary(ex, LINEAR_CURRENCY)
        upnl = 0.0
        for p in positions.positions:
            if p.inverse:  # the coin accounts: inverse_balances
                continue
            mark = p.mark_price
            if mark is None:
                raise DataError(f"position {p.symbol} has no mark price: the wallet cannot be derived")
            upnl += (1 if p.side == "long" else -1) * p.size * (mark - p.entry_price)
        return summary.equity - upnl, LINEAR_CURRENCY, None

    async def tiers(
        self, ex: Any, symbols: list[str], has_keys: bool
    ) -> list[tuple[str, Literal["notional", "quantity"], list[TierRowData], str]]:
        out: list[tuple[str, Literal["notional", "quantity"], list[TierRowData], str]] = []
        for symbol in symbols:
            ramp = RAMPS.get(symbol.upper())
            if ramp is None or symbol not in ex.markets:
                continue
            row = TierRowData(min_notional=0.0, max_notional=None, mmr=ramp.mm_base, max_leverage=1 / ramp.im_base)
            out.append((symbol, "quantity", [row], self.tier_note))
        return out

    async def fetch_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        """One book summary per settle currency of ``symbols`` (USDC for the linear perpetuals, the
        coin for the inverse ones): ``mark_price`` per instrument."""
        by_id = {str(as_dict(m).get("id")): s for s, m in ex.markets.items()}
        currencies = sorted({str(as_dict(ex.markets[s]).get("settleId") or LINEAR_CURRENCY) for s in symbols})
        out: dict[str, dict[str, Any]] = {}
        for currency in currencies:
            response = as_dict(await ex.publicGetGetBookSummaryByCurrency({"currency": currency, "kind": "future"}))
            for row in as_list(response.get("result")):
                item = as_dict(row)
                symbol = by_id.get(str(item.get("instrument_name")))
                if symbol in symbols:
                    out[symbol] = {"markPrice": item.get("mark_price"), "timestamp": item.get("creation_timestamp")}
        return out


def _margin_model(data: dict[str, Any]) -> str | None:
    """The account's margin model: ``margin_model``, else ``portfolio_margining_enabled`` (older
    payloads: true = portfolio margin), else None (not stated)."""
    model = data.get("margin_model")
    if isinstance(model, str) and model:
        return model
    if data.get("portfolio_margining_enabled") is True:
        return "segregated_pm"
    return None
