"""The alert rule engine: snapshots, notices and status events in, alerts out.

Pure: no file or network I/O and no clock reads (every call takes ``now``). What it remembers
between calls — which levels are armed, consecutive-breach counters, when each alert was last
delivered — is one :class:`EngineState`, which :class:`~liqwatch.alerts.store.AlertStore` keeps
in a small file (:meth:`EngineState.to_dict` / :meth:`EngineState.from_dict`) so a restart does
not re-send.

Conventions (alert hygiene: netdata, Nagios flapping, chmonitor):

* **Tiered levels, escalation edges only.** Each threshold rule has levels ordered by severity.
  Only the most severe level the value breaches can fire; less severe ones it covers are disarmed
  silently. Staying beyond a level never re-fires it.
* **N consecutive breaches** (``consecutive``, default 2; ``consecutive_critical``, default 1, for
  critical levels). A breach interrupted before N resets the count.
* **Hysteresis.** A fired level re-arms only when the value clears it by a margin: rising rules
  (margin ratio, ADL lights) when ``value <= level - hysteresis``; distance to liquidation when
  ``value >= level * (1 + hysteresis)``; a stale feed when no open position is stale. An account
  without figures (no data yet, a failed feed) is stale from the first snapshot that shows it so.
* **Cooldown** per (account, symbol, side, rule, level), counted from the last *delivered* alert
  (:meth:`AlertEngine.mark_delivered`). A level that breaches again within its cooldown stays armed
  and fires when the cooldown ends, if still breached.
* **Immediate** (no consecutive count): critical levels, positions that vanished or shrank, failed
  connections.
* **Only what can change is evaluated** (issue #22). A position whose rules hold no level state
  and whose values are all short of their least severe levels (its tier the confirmed one) is
  skipped without calling a rule; a rule settled at its value (fired, or calm) is skipped while
  the value does not move; what time alone changes (a breach held by its cooldown, a stale feed's
  age, the haircut's window) is evaluated every time. The alerts and the state are those of
  evaluating everything (a test runs both).
* **A restored state vouches only for what it proves** (issue #20). State saved by another run
  keeps a fired level (or a failed-connection marker) quiet only if, at the first evaluation of
  it in this run, the same level's alert — or a more severe level's of the same (account, symbol,
  side, rule) — was delivered (or is still queued for delivery) within the rule's cooldown, and the
  account is the same account: its identity (``identities``: exchange, name, network, endpoint,
  wallet, credential source and key) equals the one saved with the state, never just its name.
  Everything else about an account whose identity differs (levels, counts, cooldowns, queued
  alerts' cooldown keys) is dropped; every other fired level is re-armed, so a condition that
  still holds alerts at once (critical levels) or after its consecutive count.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from liqwatch.alerts import messages
from liqwatch.alerts.model import FALLING_KINDS, Alert, Rule, RuleKind, Severity, default_rules
from liqwatch.core.symbols import unified_parts
from liqwatch.feeds.events import Status
from liqwatch.numfmt import plain
from liqwatch.state import AccountView, Notice, PositionView, Snapshot

if TYPE_CHECKING:
    from liqwatch.core.collateral import AssetValue
    from liqwatch.market.model import MarketReport

STATE_VERSION = 1
GC_AGE = 6 * 3600.0
"""Level state of a position not seen for this long (while the engine runs) is forgotten."""
GC_EVERY = 60.0
MAX_PENDING = 1000
"""Fired alerts awaiting delivery remembered for :meth:`AlertEngine.mark_delivered`."""
_SEP = "\x1f"
USD_STABLECOINS: frozenset[str] = frozenset({"USDT", "USDC", "FDUSD", "USDE", "DAI", "TUSD", "BUSD", "USD1", "PYUSD"})
"""Collateral assets whose ``collateral_depeg`` reference is 1.0 USD (BNFCR, a credit, is none)."""
REFERENCE_QUOTES: frozenset[str] = frozenset({"USDT", "USDC", "USD"})
"""Marks of ``<ASSET>/<quote>`` contracts that give another venue's price of ``ASSET``."""


# ---------------------------------------------------------------------- state


@dataclass(slots=True)
class LevelState:
    """One level of one (account, symbol, side, rule) that is breached, or fired and not yet
    re-armed: ``armed`` False once it fired (or a more severe level covers it); ``count`` the
    consecutive breaches so far. On disk: ``{"armed": bool, "count": int}``."""

    armed: bool = True
    count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"armed": self.armed, "count": self.count}

    @classmethod
    def from_dict(cls, data: Any) -> LevelState:
        """Raises :class:`ValueError` unless ``data`` has the shape :meth:`to_dict` writes."""
        if not isinstance(data, Mapping):
            raise ValueError("level state: not an object")
        armed, count = data.get("armed"), data.get("count")
        if not isinstance(armed, bool) or not isinstance(count, int) or isinstance(count, bool):
            raise ValueError("level state: armed/count")
        return cls(armed, count)


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """A fired alert awaiting its first delivery: its cooldown key and when it fired. On disk:
    ``[key, ts]``."""

    key: str
    ts: float

    def to_list(self) -> list[Any]:
        return [self.key, self.ts]

    @classmethod
    def from_list(cls, data: Any) -> PendingDelivery:
        if not isinstance(data, list | tuple) or len(data) != 2 or not isinstance(data[0], str):
            raise ValueError("pending: not [key, ts]")
        return cls(data[0], _number(data[1]))


def _number(x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise ValueError("not a number")
    return float(x)


def _times(data: Any) -> dict[str, float]:
    if not isinstance(data, Mapping):
        raise ValueError("not an object")
    return {str(k): _number(v) for k, v in data.items()}


@dataclass(slots=True)
class EngineState:
    """Everything the engine remembers across a restart.

    ``levels``: per (account, symbol, side, rule) key, the :class:`LevelState` of each level label.
    ``connection``: per failed feed connection key, when its alert fired (cleared on reconnect).
    ``delivered``: per cooldown key, when its last alert was delivered.
    ``pending``: per alert id, the :class:`PendingDelivery` of a fired, undelivered alert (oldest
    first).
    ``accounts``: per account name, the identity of the account the state is about (see
    :class:`AlertEngine`; written only when known).

    On disk (:meth:`to_dict`, version :data:`STATE_VERSION`)::

        {"version": 1, "levels": {key: {label: {"armed": bool, "count": int}}},
         "connection": {key: ts}, "delivered": {key: ts}, "pending": {id: [key, ts]},
         "accounts": {name: identity}}
    """

    levels: dict[str, dict[str, LevelState]] = field(default_factory=dict)
    connection: dict[str, float] = field(default_factory=dict)
    delivered: dict[str, float] = field(default_factory=dict)
    pending: dict[str, PendingDelivery] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-serialisable form written to the state file."""
        out = {
            "version": STATE_VERSION,
            "levels": {key: {label: st.to_dict() for label, st in item.items()} for key, item in self.levels.items()},
            "connection": dict(self.connection),
            "delivered": dict(self.delivered),
            "pending": {alert_id: entry.to_list() for alert_id, entry in self.pending.items()},
        }
        if self.accounts:
            out["accounts"] = dict(self.accounts)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> EngineState:
        """The state :meth:`to_dict` wrote; anything else (None, another version, a foreign or
        damaged shape) is a fresh state."""
        if not isinstance(data, Mapping) or data.get("version") != STATE_VERSION:
            return cls()
        try:
            parts = {name: data.get(name, {}) for name in ("levels", "connection", "delivered", "pending")}
            if not all(isinstance(part, Mapping) for part in parts.values()):
                raise ValueError("not an object")
            levels: dict[str, dict[str, LevelState]] = {}
            for key, item in parts["levels"].items():
                if not isinstance(item, Mapping):
                    raise ValueError("levels: not an object")
                levels[str(key)] = {str(label): LevelState.from_dict(st) for label, st in item.items()}
            accounts = data.get("accounts", {})
            if not isinstance(accounts, Mapping) or not all(isinstance(v, str) for v in accounts.values()):
                raise ValueError("accounts: not an object of strings")
            return cls(
                levels=levels,
                connection=_times(parts["connection"]),
                delivered=_times(parts["delivered"]),
                pending={str(k): PendingDelivery.from_list(v) for k, v in parts["pending"].items()},
                accounts={str(k): v for k, v in accounts.items()},
            )
        except (ValueError, TypeError):
            return cls()


@dataclass(frozen=True, slots=True)
class TierState:
    """Per position (in memory only: after a restart the first sight is the baseline, so nothing
    is re-sent): the confirmed tier, a candidate tier, snapshots seen at the candidate, and the
    confirmed tier's maintenance margin rate."""

    confirmed: int
    candidate: int
    count: int
    mmr: float


@dataclass(slots=True)
class HaircutWindow:
    """Per multi-assets account (in memory only: after a restart the first sight starts the
    window): what its positions and collateral balances were when the window started, and the
    effective equity's running maxima over the window (``(ts, equity, each asset's collateral
    value then)``, equity descending)."""

    signature: tuple[Any, ...]
    samples: deque[tuple[float, float, dict[str, float]]] = field(default_factory=deque)


class _References:
    """Other venues' prices of an asset in one snapshot, for ``collateral_depeg``: each venue's
    fresh ``<ASSET>/USDT``, ``/USDC`` or ``/USD`` marks and its multi-assets accounts' collateral
    prices. Built on first use (only an account holding a non-stablecoin collateral asset asks)."""

    def __init__(self, snapshot: Snapshot, bases: dict[str, str | None]) -> None:
        self._snapshot = snapshot
        self._bases = bases
        self._by_asset: dict[str, list[tuple[str, float]]] | None = None

    def _build(self) -> dict[str, list[tuple[str, float]]]:
        out: dict[str, list[tuple[str, float]]] = {}
        bases = self._bases
        for view in self._snapshot.positions:
            if view.stale:
                continue
            symbol = view.data.symbol
            base = bases.get(symbol, "")
            if base == "":
                parts = unified_parts(symbol)
                base = parts[0].upper() if parts is not None and parts[1] in REFERENCE_QUOTES else None
                if len(bases) > 50_000:
                    bases.clear()
                bases[symbol] = base
            price = view.mark_price
            if base is not None and math.isfinite(price) and price > 0:
                out.setdefault(base, []).append((view.exchange, price))
        for acc in self._snapshot.accounts:
            if acc.collateral_risk is not None:
                for asset in acc.collateral_risk.assets:
                    out.setdefault(asset.asset, []).append((acc.exchange, asset.price))
        return out

    def of(self, asset: str, exchange: str) -> tuple[float, str] | None:
        """(the median of the other venues' prices of ``asset``, which venues), or None."""
        if self._by_asset is None:
            self._by_asset = self._build()
        found = [(venue, price) for venue, price in self._by_asset.get(asset, ()) if venue != exchange]
        if not found:
            return None
        venues = ", ".join(sorted({venue for venue, _ in found}))
        return statistics.median(price for _, price in found), f"{venues}'s price"


# ---------------------------------------------------------------------- engine

_PositionRules = tuple[Rule | None, Rule | None, Rule | None, Rule | None]


def _calm_below(rule: Rule | None) -> float:
    """A rising rule (margin ratio, ADL) cannot act on a value below this while it holds no level
    state: its least severe level (a rule without levels: never calm; no rule: always)."""
    if rule is None:
        return math.inf
    return rule.levels[0] if rule.levels and rule.kind not in FALLING_KINDS else -math.inf


def _calm_above(rule: Rule | None) -> float:
    """The falling rule's (distance) bound: it cannot act on a value above this while it holds no
    level state."""
    if rule is None:
        return -math.inf
    return rule.levels[0] if rule.levels and rule.kind in FALLING_KINDS else math.inf


class _Single:
    """One rule of one item outside the position rules (a venue's symbol's market rule, a
    position's funding), as last evaluated: its level item's key, calm bound (:func:`_calm_below`),
    last value and whether the rule was settled at it (see :class:`_Watched`)."""

    __slots__ = ("below", "epoch", "key", "rule", "settled", "value")

    def __init__(self, rule: Rule | None, key: str) -> None:
        self.rule = rule
        self.key = key
        self.below = _calm_below(rule)
        self.value: float | None = None
        self.settled = False
        self.epoch = -1


class _Watched:
    """One open position as the engine last evaluated it (in memory only; a restart starts from
    the first sight): its rules (margin ratio, distance, ADL, tier change), their level items'
    keys in :attr:`EngineState.levels`, the values last evaluated, whether each rule was *settled*
    at its value (evaluating the same value again changes nothing, whatever the time: no breach
    being counted, no alert held by its cooldown), and its tier-change state.

    ``quiet``: none of its level items exists and its tier is confirmed, so that a snapshot whose
    values are all below (distance: above) the least severe levels and whose tier is the confirmed
    one cannot change anything: :meth:`AlertEngine._account` skips such a position without calling
    any rule (most positions, most seconds). Only :meth:`AlertEngine._threshold` creates level
    items, so an item cannot appear behind a quiet position's back; ``epoch`` guards the settled
    flags against items deleted by :meth:`AlertEngine._gc` and a vanished position."""

    __slots__ = (
        "above_distance",
        "below_adl",
        "below_ratio",
        "epoch",
        "keys",
        "quiet",
        "rules",
        "settled",
        "tier",
        "values",
    )

    def __init__(self, rules: _PositionRules, account: str, symbol: str, side: str) -> None:
        self.rules = rules
        ratio, distance, adl, _ = rules
        self.keys = tuple(
            "" if rule is None else f"{account}{_SEP}{symbol}{_SEP}{side}{_SEP}{rule.kind}" for rule in rules[:3]
        )
        self.below_ratio = _calm_below(ratio)
        self.above_distance = _calm_above(distance)
        self.below_adl = _calm_below(adl)
        self.values: list[float | None] = [None, None, None]
        self.settled = [False, False, False]
        self.epoch = -1
        self.quiet = False
        self.tier: TierState | None = None


def _key(*parts: str | None) -> str:
    return _SEP.join(["" if p is None else p for p in parts])  # a list: join's fast path, no generator


def _alert_id(kind: str, key: str, now: float) -> str:
    digest = hashlib.sha256(f"{key}{_SEP}{now!r}".encode()).hexdigest()[:16]
    return f"{kind}-{digest}"


def _real(x: object) -> float | None:
    """A finite number of a record, else None."""
    if type(x) is float:  # the usual case, without the union and bool checks
        return x if math.isfinite(x) else None
    if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x):
        return float(x)
    return None


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


class AlertEngine:
    """Evaluates rules; returns the alerts to deliver. Call :meth:`evaluate` with every snapshot,
    :meth:`on_notice` with every notice, :meth:`on_status` with every status event, and
    :meth:`mark_delivered` once an alert reached a notifier (cooldowns count from delivery).

    ``state`` resumes from an :class:`EngineState` or its :meth:`~EngineState.to_dict` form, as far
    as it vouches for what it holds (see the module docstring). ``identities``: per account name,
    what makes the account this account (``liqwatch.alerts.runner.account_identity``); an account
    absent from both these and the saved state is known by its name alone (library use, the
    market alerts' venues)."""

    def __init__(
        self,
        rules: Sequence[Rule] | None = None,
        state: EngineState | Mapping[str, Any] | None = None,
        *,
        defaults: bool = True,
        identities: Mapping[str, str] | None = None,
    ) -> None:
        self.rules: tuple[Rule, ...] = (default_rules() if defaults else ()) + tuple(rules or ())
        self.state: EngineState = EngineState.from_dict(state.to_dict() if isinstance(state, EngineState) else state)
        """Everything the engine remembers (persisted by :class:`~liqwatch.alerts.store.AlertStore`)."""
        self._unvouched: set[str] = set()
        """Level items and connection markers restored from another run, not yet checked against
        the first evaluation of them in this one (:meth:`_vouch`)."""
        self._queued: dict[str, float] = {}
        """Per cooldown key, when the restored state's newest undelivered alert for it fired."""
        self._resume(dict(identities or {}))
        self.version = 0
        """Incremented whenever :attr:`state` changes (save when it moves)."""
        self._cache: dict[tuple[str, str, tuple[str | None, ...]], Rule | None] = {}
        self._position_cache: dict[tuple[str, str], _PositionRules] = {}
        """Per (account, symbol): the rules each position is checked against (see :meth:`_rule`)."""
        self._seen: dict[str, float] = {}
        self._started: float | None = None
        self._last_gc = -math.inf
        self._stale_since: dict[str, float] = {}
        self._stale_next: dict[str, float] = {}
        self._watched: dict[tuple[str, str, str], _Watched] = {}
        """Per (account, symbol, side) of each position of the last snapshot with figures: what it
        was evaluated at (:class:`_Watched`)."""
        self._watched_next: dict[tuple[str, str, str], _Watched] = {}
        self._epoch = 0
        """Incremented whenever level items go other than by a rule's evaluation (garbage
        collection, a vanished position): the settled flags of :class:`_Watched` predate it."""
        self._symbolic: frozenset[str] = frozenset(r.kind for r in self.rules if r.symbol is not None)
        """The rule kinds some rule of which names a symbol (for the others, which rule applies to an
        account does not depend on the symbols it holds)."""
        self._funding: dict[tuple[str, str, str], _Single] = {}
        """Per (account, symbol, side): the ``funding`` rule as last evaluated."""
        self._market: dict[tuple[str, str, str], _Single] = {}
        """Per (rule kind, venue, symbol): the market rule as last evaluated."""
        self._haircut: dict[str, HaircutWindow] = {}
        self._haircut_next: dict[str, HaircutWindow] = {}
        self._bases: dict[str, str | None] = {}
        """Per symbol: the asset whose price its mark is (``collateral_depeg`` references), or None."""
        self._refs: _References | None = None
        self._max_cooldown = max((r.cooldown for r in self.rules), default=0.0)
        self._cooldowns: dict[str, float] = {}
        """Per pending alert id, its rule's cooldown (:meth:`claim`)."""

    # ------------------------------------------------------------------ public

    def evaluate(self, snapshot: Snapshot, now: float) -> list[Alert]:
        """Alerts that one snapshot fires, in a deterministic order (accounts in snapshot order;
        per account: the cross margin ratio, then each position's margin ratio, distance, ADL and
        tier, then the stale feed, then each collateral asset's depeg and the equity's haircut)."""
        if self._started is None:
            self._started = now
        self._refs = _References(snapshot, self._bases)
        out: list[Alert] = []
        by_account: dict[str, list[PositionView]] = {}
        for view in snapshot.positions:
            by_account.setdefault(view.account, []).append(view)
        for acc in snapshot.accounts:
            self._account(out, acc.name, acc, by_account.pop(acc.name, []), now)
        for name, views in by_account.items():
            self._account(out, name, None, views, now)
        self._stale_since, self._stale_next = self._stale_next, {}  # only positions stale now
        self._watched, self._watched_next = self._watched_next, {}  # only positions open now
        self._haircut, self._haircut_next = self._haircut_next, {}  # only accounts valued now
        self._refs = None
        if now - self._last_gc >= GC_EVERY:
            self._gc(now)
        return out

    def on_notice(self, notice: Notice, now: float) -> list[Alert]:
        """A position that vanished or shrank: always immediate (its level state is reset on a
        vanish, so a new position on the symbol starts fresh)."""
        if notice.kind == "vanished":
            self._forget_position(notice.account, notice.symbol, notice.side)
        rule = self._rule("position_lost", notice.account, (notice.symbol,))
        if rule is None:
            return []
        key = _key(notice.account, notice.symbol, notice.side, "position_lost", notice.kind)
        if self._cooling(key, rule, now):
            return []
        alert = self._fire(
            rule,
            key,
            now,
            account=notice.account,
            symbol=notice.symbol,
            side=notice.side,
            level=notice.kind,
            value=notice.size_after,
            threshold=notice.size_before,
            message=messages.position_lost(notice.account, notice.message),
            severity="critical" if notice.kind == "vanished" else "warning",
            id_ts=notice.ts,
        )
        return [alert]

    def on_status(self, status: Status, now: float) -> list[Alert]:
        """A failed connection (state ``error``) fires immediately, once, until the same feed
        channel connects (or resyncs) again."""
        key = _key(status.account, None, None, "connection", status.channel)
        fired = self.state.connection
        if key in self._unvouched:  # a marker from another run: kept only if it vouches
            self._unvouched.discard(key)
            rule = self._rule("connection", status.account, ())
            if rule is None or not self._vouched(key, rule, now):
                del fired[key]
                self.version += 1
        if status.state in ("connected", "resynced"):
            if fired.pop(key, None) is not None:
                self.version += 1
            return []
        if status.state != "error" or key in fired:
            return []
        rule = self._rule("connection", status.account, ())
        if rule is None or self._cooling(key, rule, now):
            return []
        fired[key] = now
        alert = self._fire(
            rule,
            key,
            now,
            account=status.account,
            level=status.channel,
            message=messages.connection_failed(status.account, status.exchange, status.channel, status.detail),
            severity="warning",
        )
        return [alert]

    def evaluate_market(self, report: MarketReport, now: float) -> list[Alert]:
        """Alerts one venue market report fires (issue #13): each pool's drawdown from its 8-hour
        maximum, each symbol's ADL signal (1 = close: a venue rating high, Bybit within 0.05 of its
        trigger; 2 = active) and |mark - index| / index. Same levels, hysteresis and cooldowns as
        the position rules; the ``account`` of these alerts is the exchange."""
        if self._started is None:
            self._started = now
        out: list[Alert] = []
        venue = report.exchange
        for pool in report.insurance:
            rule = self._rule("insurance_drawdown", venue, (pool.pool, *pool.symbols))
            if rule is not None and pool.drawdown_8h is not None:
                name = f"{pool.pool} {pool.asset}"
                args = (venue, name, pool.balance, pool.asset, pool.drawdown_8h)
                self._threshold(out, rule, venue, name, None, pool.drawdown_8h, now, messages.insurance_drawdown, *args)
        levels = self.state.levels
        for adl in report.adl_risk:
            item = self._market_rule("adl_risk", venue, adl.symbol)
            if item.rule is not None:
                severity = float(adl.severity)
                if severity < item.below and item.key not in levels:
                    continue  # calm, and nothing to re-arm: the rule cannot act (no arguments built)
                args2 = (venue, adl.symbol, adl.level, adl.detail)
                self._single(out, item, venue, adl.symbol, None, severity, now, messages.adl_risk, *args2)
        for sym in report.symbols:
            item = self._market_rule("mark_index_divergence", venue, sym.symbol)
            if item.rule is not None and (divergence := sym.divergence) is not None:
                value = abs(divergence)
                if value < item.below and item.key not in levels:
                    continue
                args3 = (venue, sym.symbol, divergence, sym.mark_price, sym.index_price)
                self._single(out, item, venue, sym.symbol, None, value, now, messages.divergence, *args3)
        return out

    def _market_rule(self, kind: RuleKind, venue: str, symbol: str) -> _Single:
        """A market rule of one venue's symbol (looked up once)."""
        memo_key = (kind, venue, symbol)
        found = self._market.get(memo_key)
        if found is None:
            found = _Single(self._rule(kind, venue, (symbol,)), f"{venue}{_SEP}{symbol}{_SEP}{_SEP}{kind}")
            if len(self._market) > 50_000:
                self._market.clear()
            self._market[memo_key] = found
        return found

    def _single(
        self,
        out: list[Alert],
        item: _Single,
        account: str,
        symbol: str | None,
        side: str | None,
        value: float,
        now: float,
        message: Callable[..., str],
        *args: Any,
    ) -> None:
        """:meth:`_threshold` for one :class:`_Single`, unless it cannot act: the value is calm and
        the item has no level state, or the rule is settled at this very value."""
        levels = self.state.levels
        key = item.key
        if value < item.below and key not in levels:
            return  # calm, and nothing to re-arm
        if item.settled and value == item.value and item.epoch == self._epoch:
            if key in levels:
                self._seen[key] = now
            return
        assert item.rule is not None
        self._threshold(out, item.rule, account, symbol, side, value, now, message, *args)
        item.value, item.settled, item.epoch = value, self._fixed(item.rule, key, value), self._epoch

    def evaluate_funding(self, records: Sequence[Mapping[str, Any]], now: float) -> list[Alert]:
        """The ``funding`` rule over position records (``watch``'s snapshot ``positions``): fires
        when the next payment moves the liquidation price by more than the level (a tenth) of the
        distance from the mark to it. Reads ``funding.liquidation_price_after[0]`` (the price after
        one payment), ``liquidation_price`` and ``mark_price``; a record without them is skipped."""
        out: list[Alert] = []
        levels = self.state.levels
        for r in records:
            funding = r.get("funding")
            if funding is None or not (type(funding) is dict or isinstance(funding, Mapping)):
                continue
            after_list = funding.get("liquidation_price_after")
            if not after_list or not (type(after_list) is list or isinstance(after_list, Sequence)):
                continue
            after, lp, mark = after_list[0], r.get("liquidation_price"), r.get("mark_price")
            # finite floats (x - x is 0.0 for them only), the usual case, without three calls
            if not (
                type(after) is float
                and type(lp) is float
                and type(mark) is float
                and after - after == 0.0
                and lp - lp == 0.0
                and mark - mark == 0.0
            ):
                after, lp, mark = _real(after), _real(lp), _real(mark)
                if after is None or lp is None or mark is None:
                    continue
            distance = abs(mark - lp)
            if distance <= 0:
                continue
            account, symbol, side = str(r.get("account", "")), str(r.get("symbol", "")), str(r.get("side", ""))
            memo_key = (account, symbol, side)
            item = self._funding.get(memo_key)
            if item is None:
                rule = self._rule("funding", account, (symbol,))
                item = _Single(rule, f"{account}{_SEP}{symbol}{_SEP}{side}{_SEP}funding")
                if len(self._funding) > 50_000:
                    self._funding.clear()
                self._funding[memo_key] = item
            if item.rule is None:
                continue
            value = abs(after - lp) / distance
            if value < item.below and item.key not in levels:
                continue  # calm, and nothing to re-arm: the rule cannot act (no arguments built)
            rate = funding.get("rate")
            args = ((account, symbol, side), value, lp, after, rate if isinstance(rate, float) else None)
            self._single(out, item, account, symbol, side, value, now, messages.funding, *args)
        return out

    def mark_delivered(self, alert_id: str, now: float) -> None:
        """The alert reached a notifier: its cooldown counts from ``now`` (later deliveries of the
        same alert to other notifiers change nothing)."""
        entry = self.state.pending.pop(alert_id, None)
        if entry is None:
            return
        self.state.delivered[entry.key] = now
        self._cooldowns.pop(alert_id, None)
        self.version += 1

    def claim(self, alert_id: str) -> tuple[str, float] | None:
        """``(cooldown key, the rule's cooldown in seconds)`` of an alert fired in this run and not
        yet delivered, else None: what replicas of one watcher group claim on the bus, so that
        each alert is published once (:mod:`liqwatch.bus.claims`)."""
        entry = self.state.pending.get(alert_id)
        cooldown = self._cooldowns.get(alert_id)
        if entry is None or cooldown is None:
            return None
        return entry.key, cooldown

    # ------------------------------------------------------------------ rules

    def _rule(self, kind: RuleKind, account: str, symbols: Sequence[str | None]) -> Rule | None:
        cache_key = (kind, account, tuple(symbols))
        try:
            return self._cache[cache_key]
        except KeyError:
            pass
        best: Rule | None = None
        for rule in self.rules:
            if (
                rule.kind == kind
                and rule.matches(account, symbols or (None,))
                and (best is None or rule.specificity >= best.specificity)
            ):
                best = rule
        found = best if best is not None and best.enabled else None
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[cache_key] = found
        return found

    def _position_rules(self, account: str, symbol: str) -> _PositionRules:
        """One position's isolated margin ratio, distance, ADL and tier change rules: what
        :meth:`_rule` gives for each, looked up once per (account, symbol)."""
        key = (account, symbol)
        found = self._position_cache.get(key)
        if found is None:
            symbols = (symbol,)
            found = (
                self._rule("margin_ratio", account, symbols),
                self._rule("distance", account, symbols),
                self._rule("adl", account, symbols),
                self._rule("tier_change", account, symbols),
            )
            if len(self._position_cache) > 50_000:
                self._position_cache.clear()
            self._position_cache[key] = found
        return found

    def _account_rule(self, kind: RuleKind, account: str, symbols: Callable[[], Sequence[str | None]]) -> Rule | None:
        """An account-wide rule: :meth:`_rule` over the symbols ``symbols()`` gives, asked only
        where some rule of the kind names a symbol (else the symbols cannot change the answer)."""
        return self._rule(kind, account, symbols() if kind in self._symbolic else ())

    def _account(
        self, out: list[Alert], name: str, acc: AccountView | None, views: list[PositionView], now: float
    ) -> None:
        cross = [v for v in views if v.data.margin_mode == "cross" and v.risk is not None]
        ratio: float | None = None
        if acc is not None and not acc.computed:
            # multi-assets from its collateral: ours; else (portfolio, unknown, a multi-assets account
            # liqwatch cannot value) the venue's own ratio
            # (the venue's against its own liquidation level: Binance PM liquidates at uniMMR 1.05)
            pooled = None if acc.collateral_risk is None else acc.collateral_risk.margin_ratio
            ratio = pooled if pooled is not None else acc.venue_ratio_to_trigger
            cross = [v for v in views if v.data.margin_mode == "cross"] if ratio is not None else []
        elif acc is not None and acc.risk is not None and cross:
            a = acc.risk.account
            ratio = a.cross_margin_ratio
            if ratio is None and a.cross_margin_balance <= 0 < a.cross_maintenance_margin:
                ratio = math.inf
        # a portfolio-margin account's ratio is the whole account's (margin loans too): watched
        # even while it holds no cross position
        whole = acc is not None and acc.mode == "portfolio" and acc.data_status == "ok" and ratio is not None
        if acc is not None and (cross or whole):
            rule = self._account_rule("margin_ratio", name, lambda: [v.data.symbol for v in cross])
            if rule is not None:
                account = acc

                def cross_message(level: float) -> str:  # worded only when it fires: n legs
                    legs = ", ".join(f"{v.data.symbol} {v.data.side}" for v in cross) or "no cross position"
                    if not account.computed and account.collateral_risk is None:
                        legs += f"; the venue's ratio: {account.mode} account"
                        name_ = account.margin_ratio_native_name
                        if account.liquidation_trigger != 1.0 and name_ and account.margin_ratio_native is not None:
                            # e.g. Binance PM: 1.05 / uniMMR, 100 % = the venue's liquidation at uniMMR 1.05
                            legs += (
                                f", {name_} {plain(account.margin_ratio_native)} against the venue's liquidation "
                                f"at {name_} {plain(account.liquidation_trigger)}"
                            )
                    return messages.cross_ratio(name, ratio, legs, level)

                self._threshold(out, rule, name, None, None, ratio, now, cross_message)
        stale_age = 0.0
        stale_symbols: list[str] = []
        watched, watched_next = self._watched, self._watched_next
        for view in views:
            data = view.data
            if view.stale:
                pos = _key(name, data.symbol, data.side)
                since = self._stale_since.setdefault(pos, now)
                self._stale_next[pos] = since
                stale_age = max(stale_age, now - since)
                stale_symbols.append(data.symbol)
            risk = view.risk
            if risk is None:
                continue
            where = (name, data.symbol, data.side)
            w = watched.get(where)
            if w is None:
                w = _Watched(self._position_rules(name, data.symbol), *where)
            watched_next[where] = w
            if w.quiet:  # the common case: nothing breached, nothing to re-arm; calm values change nothing
                ratio_ = risk.margin_ratio
                if (
                    (
                        data.margin_mode != "isolated"
                        or (risk.status != "bankrupt" if ratio_ is None else ratio_ < w.below_ratio)
                    )
                    and (math.inf if (d := risk.distance_to_liquidation) is None else d) > w.above_distance
                    and risk.adl.lights < w.below_adl
                    and (w.tier is None or risk.tier.index == w.tier.confirmed)
                ):
                    continue
            self._position(out, w, where, view, now)
        rule = self._account_rule("stale", name, lambda: stale_symbols or [v.data.symbol for v in views])
        if acc is not None and acc.data_status != "ok":
            # No figures (no data yet, a failed feed): stale for as long as it lasts, whatever the
            # marks; its margin ratios are unknown, which changes no level (no "all clear").
            since = self._stale_since.setdefault(_key(name), now)
            self._stale_next[_key(name)] = since
            if rule is not None:
                age = max(stale_age, now - since)
                why = (acc.data_status, acc.cause)
                self._threshold(out, rule, name, None, None, age, now, messages.no_data, name, age, why)
        elif rule is not None:
            n_open = len(views)
            self._threshold(
                out, rule, name, None, None, stale_age, now, messages.stale, name, stale_age, n_open, stale_symbols
            )
        if acc is not None and acc.collateral_risk is not None:
            cr = acc.collateral_risk
            self._collateral(out, name, acc.exchange, cr.assets, cr.effective_equity, cr.equity_usd, views, now)
        elif acc is not None and (cv := acc.collateral_venue) is not None and acc.data_status == "ok":
            # a portfolio account: its coins as the venue reports them, its effective equity the venue's
            equity = math.nan if cv.effective_equity is None else cv.effective_equity
            self._collateral(out, name, acc.exchange, cv.assets, equity, cv.value_usd, views, now)

    def _position(
        self, out: list[Alert], w: _Watched, where: tuple[str, str, str], view: PositionView, now: float
    ) -> None:
        """One position's margin ratio (isolated), distance, ADL and tier change rules, each called
        unless it is settled at the same value (see :class:`_Watched`)."""
        data, risk = view.data, view.risk
        assert risk is not None
        ratio_rule, distance_rule, adl_rule, tier_rule = w.rules
        if w.epoch != self._epoch:
            w.settled = [False, False, False]
        if data.margin_mode == "isolated" and (rule := ratio_rule) is not None:
            ratio = risk.margin_ratio
            if ratio is None and risk.status == "bankrupt":
                ratio = math.inf
            if not self._settled(w, 0, ratio, now):
                self._threshold(out, rule, *where, ratio, now, messages.isolated_ratio, where, ratio)
                self._settle(w, 0, rule, ratio)
        if (rule := distance_rule) is not None:
            # no liquidation price (fully collateralised): nothing to approach
            distance = math.inf if risk.distance_to_liquidation is None else risk.distance_to_liquidation
            if not self._settled(w, 1, distance, now):
                prices = (view.mark_price, risk.liquidation_price)
                self._threshold(out, rule, *where, distance, now, messages.distance, where, distance, prices)
                self._settle(w, 1, rule, distance)
        if (rule := adl_rule) is not None:
            adl = risk.adl
            lights = float(adl.lights)
            if not self._settled(w, 2, lights, now):
                self._threshold(out, rule, *where, lights, now, messages.adl, where, adl.lights, adl.source)
                self._settle(w, 2, rule, lights)
        if (rule := tier_rule) is not None:
            self._tier(out, rule, w, *where, risk.tier.index, risk.tier.mmr, now)
        w.epoch = self._epoch
        levels = self.state.levels
        tier = w.tier
        w.quiet = not any(key in levels for key in w.keys if key) and (
            tier_rule is None or (tier is not None and tier.candidate == tier.confirmed and tier.count == 0)
        )

    def _settled(self, w: _Watched, i: int, value: float | None, now: float) -> bool:
        """Whether the position's ``i``-th rule may be skipped: its value is unknown (which changes
        nothing), or it was settled at this very value. A skipped rule's level item still counts as
        seen (:meth:`_gc`)."""
        if value is None:
            return True
        if not w.settled[i] or value != w.values[i]:
            return False
        key = w.keys[i]
        if key in self.state.levels:
            self._seen[key] = now
        return True

    def _settle(self, w: _Watched, i: int, rule: Rule, value: float | None) -> None:
        """After the position's ``i``-th rule was evaluated at ``value``: whether evaluating the same
        value again would change nothing, whatever the time (no level item; or its most severe
        breached level has fired, the levels it covers are disarmed and the others stay as the value
        leaves them). A breach still being counted, or ready and held by its cooldown, is not."""
        w.values[i] = value
        w.settled[i] = value is not None and self._fixed(rule, w.keys[i], value)

    def _fixed(self, rule: Rule, key: str, value: float) -> bool:
        """Whether ``rule``, just evaluated at ``value`` for the level item ``key``, would change
        nothing evaluated at the same value again, whatever the time (see :meth:`_settle`)."""
        if math.isnan(value):
            return False
        item = self.state.levels.get(key)
        if item is None:
            return True
        for level, label in zip(reversed(rule.levels), reversed(rule.labels), strict=True):
            if rule.breaches(value, level):
                st = item.get(label)
                return st is not None and not st.armed
        return True

    def _collateral(
        self,
        out: list[Alert],
        name: str,
        exchange: str,
        assets: Sequence[AssetValue],
        equity: float,
        equity_usd: float,
        views: list[PositionView],
        now: float,
    ) -> None:
        """A multi-assets account valued from its collateral (``assets`` and ``equity`` liqwatch's),
        or a portfolio account's coins as its venue reports them (``equity`` the venue's effective
        equity; NaN where it sent none): each held asset's venue price against its reference
        (``collateral_depeg``; an asset without one has no rule), and the effective equity against
        its high of the rule's window (``collateral_haircut``; the window restarts whenever a
        position or a collateral balance changes). ``equity_usd``: the coins' value before haircuts."""
        for asset in assets:
            if asset.equity == 0.0:
                continue  # not held: its price moves nothing
            rule = self._rule("collateral_depeg", name, (asset.asset,))
            if rule is None:
                continue
            if asset.asset in USD_STABLECOINS:
                reference, source = 1.0, "a USD stablecoin"
            else:
                found = None if self._refs is None else self._refs.of(asset.asset, exchange)
                if found is None:
                    continue
                reference, source = found
            value = abs(asset.price - reference) / reference
            args = (name, exchange, asset.asset, asset.price, reference, source, value)
            self._threshold(out, rule, name, asset.asset, None, value, now, messages.collateral_depeg, *args)
        rule = self._rule("collateral_haircut", name, ())
        if rule is None or not math.isfinite(equity):
            return
        signature = (
            tuple(sorted((v.data.symbol, v.data.side, v.data.size) for v in views)),
            tuple(sorted((a.asset, a.amount) for a in assets)),
        )
        window = self._haircut.get(name)
        if window is None or window.signature != signature:
            window = HaircutWindow(signature)
        self._haircut_next[name] = window
        samples = window.samples
        while samples and samples[-1][1] <= equity:
            samples.pop()
        values = {a.asset: a.collateral_value_usd for a in assets}
        samples.append((now, equity, values))
        while samples[0][0] < now - rule.window:
            samples.popleft()
        _, high, then = samples[0]
        if high <= 0.0:
            return
        value = (high - equity) / high
        falls = sorted(((then.get(k, 0.0) - v, k) for k, v in values.items()), reverse=True)
        most = [(asset, fall) for fall, asset in falls[:3] if fall > 0.0]
        args2 = (name, equity, high, rule.window, equity_usd, most, value)
        self._threshold(out, rule, name, None, None, value, now, messages.collateral_haircut, *args2)

    # ------------------------------------------------------------------ machinery

    def _threshold(
        self,
        out: list[Alert],
        rule: Rule,
        account: str,
        symbol: str | None,
        side: str | None,
        value: float | None,
        now: float,
        message: Callable[..., str],
        *args: Any,
    ) -> None:
        """One value against one rule's levels (see the module docstring for the semantics);
        ``message(*args, level)`` words the alert."""
        if value is None or math.isnan(value):
            return  # unknown: change nothing
        item_key = f"{account}{_SEP}{symbol or ''}{_SEP}{side or ''}{_SEP}{rule.kind}"
        levels = self.state.levels
        item = levels.get(item_key)
        if item is not None and self._unvouched and item_key in self._unvouched:
            item = self._vouch(item_key, item, rule, now)
        if item is None and not rule.breaches(value, rule.levels[0]):
            return  # the common case: calm, and nothing to re-arm
        if item is None:
            item = levels[item_key] = {}
        self._seen[item_key] = now
        top = -1
        for i, level in enumerate(rule.levels):
            label = rule.labels[i]
            st = item.get(label)
            if rule.breaches(value, level):
                top = i
                if st is None:
                    st = item[label] = LevelState()
                if st.armed and st.count < rule.needed(level):
                    st.count += 1
                    self.version += 1
            elif st is not None and (st.armed or rule.clears(value, level)):
                del item[label]  # a pending breach interrupted, or a fired level re-armed
                self.version += 1
        for label in [k for k in item if k not in rule.labels]:
            del item[label]  # a level the rule no longer has (the config changed)
        if not item:
            del levels[item_key]
        if top < 0:
            return
        label = rule.labels[top]
        st = item[label]
        level = rule.levels[top]
        key = item_key + _SEP + label
        ready = st.armed and st.count >= rule.needed(level)
        if st.armed and not ready:
            return  # the top level's breach is still being confirmed: lower levels keep counting
        for i in range(top):  # less severe levels the top one covers
            lower = item[rule.labels[i]]
            if lower.armed:
                lower.armed, lower.count = False, 0
                self.version += 1
        if not ready or self._cooling(key, rule, now):
            return
        st.armed, st.count = False, 0
        out.append(
            self._fire(
                rule,
                key,
                now,
                account=account,
                symbol=symbol,
                side=side,
                level=label,
                value=value,
                threshold=level,
                message=message(*args, level),
                severity=rule.severity(level),
            )
        )

    def _tier(
        self,
        out: list[Alert],
        rule: Rule,
        w: _Watched,
        account: str,
        symbol: str,
        side: str,
        tier: int,
        mmr: float,
        now: float,
    ) -> None:
        """A tier change, confirmed by ``consecutive`` snapshots at the new tier (the state is the
        position's :attr:`_Watched.tier`)."""
        st = w.tier
        if st is None:  # first sight (or after a restart): the baseline, silently
            st = TierState(tier, tier, 0, mmr)
        if tier == st.confirmed:
            if st.candidate != tier or st.count:  # else the same state (frozen): kept, not rebuilt
                st = TierState(st.confirmed, st.confirmed, 0, st.mmr)
            w.tier = st
            return
        count = st.count + 1 if st.candidate == tier else 1
        if count < rule.consecutive:
            w.tier = TierState(st.confirmed, tier, count, st.mmr)
            return
        w.tier = TierState(tier, tier, 0, mmr)
        direction = "up" if tier > st.confirmed else "down"
        key = _key(account, symbol, side, "tier_change") + _SEP + direction
        if self._cooling(key, rule, now):
            return  # flapping at a bracket boundary: the new tier is taken silently
        out.append(
            self._fire(
                rule,
                key,
                now,
                account=account,
                symbol=symbol,
                side=side,
                level=direction,
                value=float(tier),
                threshold=float(st.confirmed),
                message=messages.tier_change((account, symbol, side), st.confirmed, tier, st.mmr, mmr),
                severity="warning" if direction == "up" else "info",
            )
        )

    def _resume(self, identities: dict[str, str]) -> None:
        """Take a restored state in (see the module docstring): drop what is about an account whose
        identity differs from the saved one, and mark the rest to be vouched for at its first
        evaluation."""
        state = self.state
        saved = state.accounts

        def stranger(key: str) -> bool:
            name = key.split(_SEP, 1)[0]
            return saved.get(name) != identities.get(name)

        for table in (state.levels, state.connection, state.delivered):
            for key in [k for k in table if stranger(k)]:
                del table[key]
        for alert_id in [i for i, p in state.pending.items() if stranger(p.key)]:
            del state.pending[alert_id]
        state.accounts = {
            name: ident for name, ident in saved.items() if identities.get(name, ident) == ident
        } | identities
        self._unvouched = set(state.levels) | set(state.connection)
        for entry in state.pending.values():
            self._queued[entry.key] = max(entry.ts, self._queued.get(entry.key, -math.inf))

    def _vouched(self, key: str, rule: Rule, now: float) -> bool:
        """Whether the restored state proves the alert of ``key`` was delivered (or queued for
        delivery) within ``rule``'s cooldown before ``now``."""
        last = max(self.state.delivered.get(key, -math.inf), self._queued.get(key, -math.inf))
        return now - last < rule.cooldown

    def _vouch(
        self, item_key: str, item: dict[str, LevelState], rule: Rule, now: float
    ) -> dict[str, LevelState] | None:
        """A restored level item at its first evaluation in this run: its fired levels above the
        most severe one whose alert the state vouches for are re-armed. The item, or None where
        nothing is left of it."""
        self._unvouched.discard(item_key)
        top = -1
        for i, label in enumerate(rule.labels):
            if self._vouched(item_key + _SEP + label, rule, now):
                top = i
        for i, label in enumerate(rule.labels):
            st = item.get(label)
            if st is not None and not st.armed and i > top:
                del item[label]
                self.version += 1
        if item:
            return item
        del self.state.levels[item_key]
        return None

    def _cooling(self, key: str, rule: Rule, now: float) -> bool:
        last = self.state.delivered.get(key)
        return last is not None and now - last < rule.cooldown

    def _fire(
        self,
        rule: Rule,
        key: str,
        now: float,
        *,
        account: str,
        level: str,
        message: str,
        severity: Severity,
        symbol: str | None = None,
        side: str | None = None,
        value: float | None = None,
        threshold: float | None = None,
        id_ts: float | None = None,
    ) -> Alert:
        alert_id = _alert_id(rule.kind, key, now if id_ts is None else id_ts)
        pending = self.state.pending
        pending[alert_id] = PendingDelivery(key, now)
        while len(pending) > MAX_PENDING:
            del pending[next(iter(pending))]
        cooldowns = self._cooldowns
        cooldowns[alert_id] = rule.cooldown
        while len(cooldowns) > MAX_PENDING:
            del cooldowns[next(iter(cooldowns))]
        self.version += 1
        return Alert(
            id=alert_id,
            ts=now,
            account=account,
            symbol=symbol,
            side=side,
            rule=rule.kind,
            level=level,
            value=_finite(value),
            threshold=_finite(threshold),
            message=message,
            severity=severity,
        )

    def _forget_position(self, account: str, symbol: str, side: str) -> None:
        prefix = _key(account, symbol, side) + _SEP
        levels = self.state.levels
        for key in [k for k in levels if k.startswith(prefix)]:
            del levels[key]
            self.version += 1
            self._epoch += 1
        self._watched.pop((account, symbol, side), None)

    def _gc(self, now: float) -> None:
        """Forget the level state of positions not seen for :data:`GC_AGE` while running (closed
        without a notice), and delivery times older than every cooldown."""
        self._last_gc = now
        started = self._started if self._started is not None else now
        levels = self.state.levels
        for key in list(levels):
            if now - max(self._seen.get(key, started), started) > GC_AGE:
                del levels[key]
                self.version += 1
                self._epoch += 1
        self._seen = {k: t for k, t in self._seen.items() if k in levels}
        delivered = self.state.delivered
        for key in [k for k, ts in delivered.items() if now - ts > self._max_cooldown]:
            del delivered[key]
            self.version += 1
