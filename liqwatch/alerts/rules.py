"""The alert rule engine: snapshots, notices and status events in, alerts out.

Pure: no I/O and no clock reads (every call takes ``now``). What it remembers between calls —
which levels are armed, consecutive-breach counters, when each alert was last delivered — is one
JSON-serialisable dict (:attr:`AlertEngine.state`), which :class:`AlertStore`
keeps in a small file so a restart does not re-send.

Conventions (alert hygiene: netdata, Nagios flapping, chmonitor):

* **Tiered levels, escalation edges only.** Each threshold rule has levels ordered by severity.
  Only the most severe level the value breaches can fire; less severe ones it covers are disarmed
  silently. Staying beyond a level never re-fires it.
* **N consecutive breaches** (``consecutive``, default 2; ``consecutive_critical``, default 1, for
  critical levels). A breach interrupted before N resets the count.
* **Hysteresis.** A fired level re-arms only when the value clears it by a margin: rising rules
  (margin ratio, ADL lights) when ``value <= level - hysteresis``; distance to liquidation when
  ``value >= level * (1 + hysteresis)``; a stale feed when no open position is stale.
* **Cooldown** per (account, symbol, side, rule, level), counted from the last *delivered* alert
  (:meth:`AlertEngine.mark_delivered`). A level that breaches again within its cooldown stays armed
  and fires when the cooldown ends, if still breached.
* **Immediate** (no consecutive count): critical levels, positions that vanished or shrank, failed
  connections.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from liqwatch.feeds.events import Status
from liqwatch.state import AccountView, Notice, PositionView, Snapshot

RuleKind = Literal["margin_ratio", "distance", "adl", "tier_change", "stale", "position_lost", "connection"]
RULE_KINDS: tuple[RuleKind, ...] = (
    "margin_ratio",
    "distance",
    "adl",
    "tier_change",
    "stale",
    "position_lost",
    "connection",
)
THRESHOLD_KINDS: frozenset[str] = frozenset({"margin_ratio", "distance", "adl", "stale"})
"""Rules with levels; the others fire on events (a tier change, a notice, a status)."""
FALLING_KINDS: frozenset[str] = frozenset({"distance"})
"""Rules whose value breaches a level by falling to it (the others breach by rising)."""

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}

STATE_VERSION = 1
GC_AGE = 6 * 3600.0
"""Level state of a position not seen for this long (while the engine runs) is forgotten."""
GC_EVERY = 60.0
MAX_PENDING = 1000
"""Fired alerts awaiting delivery remembered for :meth:`AlertEngine.mark_delivered`."""
_SEP = "\x1f"


class Alert(BaseModel):
    """One alert. ``id`` is stable and unique per firing: channels deduplicate by it.

    ``level`` names the level that fired: the threshold for level rules (``"0.85"``, ``"0.02"``,
    ``"4"``, ``"30"``), ``"up"``/``"down"`` for a tier change, ``"vanished"``/``"shrunk"`` for a lost
    position, the feed channel (``"rest"``, ``"marks"``, ``"private"``, ``"feed"``) for a failed
    connection. ``value`` and ``threshold`` are finite or None."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    ts: float
    account: str
    symbol: str | None = None
    side: str | None = None
    rule: str
    level: str
    value: float | None = None
    threshold: float | None = None
    message: str
    severity: Severity = "warning"

    def record(self) -> dict[str, Any]:
        """The JSON line ``liqwatch watch`` prints (and the body a generic webhook receives)."""
        return {"type": "alert", **self.model_dump()}

    @property
    def title(self) -> str:
        return f"liqwatch {self.severity}: {self.account}" + (f" {self.symbol}" if self.symbol else "")


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule as the engine runs it. ``account`` / ``symbol`` scope it (exact names or
    ``fnmatch`` patterns; a symbol pattern also matches the base asset: ``BTC`` matches
    ``BTC/USDT:USDT``). Where several rules of a kind match, the most specific wins (account and
    symbol > account > symbol > none), and among equals the one given last."""

    kind: RuleKind
    levels: tuple[float, ...] = ()
    critical: float | None = None
    """Levels at or beyond this one are critical (severity and ``consecutive_critical``)."""
    account: str | None = None
    symbol: str | None = None
    consecutive: int = 2
    consecutive_critical: int = 1
    hysteresis: float = 0.0
    cooldown: float = 300.0
    enabled: bool = True
    labels: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        falling = self.kind in FALLING_KINDS
        ordered = tuple(sorted(set(self.levels), reverse=falling))  # least severe first
        object.__setattr__(self, "levels", ordered)
        object.__setattr__(self, "labels", tuple(f"{lvl:g}" for lvl in ordered))

    @property
    def specificity(self) -> int:
        return (2 if self.account is not None else 0) + (1 if self.symbol is not None else 0)

    def is_critical(self, level: float) -> bool:
        if self.critical is None:
            return False
        return level <= self.critical if self.kind in FALLING_KINDS else level >= self.critical

    def severity(self, level: float) -> Severity:
        return "critical" if self.is_critical(level) else "warning"

    def needed(self, level: float) -> int:
        return self.consecutive_critical if self.is_critical(level) else self.consecutive

    def breaches(self, value: float, level: float) -> bool:
        return value <= level if self.kind in FALLING_KINDS else value >= level

    def clears(self, value: float, level: float) -> bool:
        if self.kind == "stale":
            return value <= 0.0
        if self.kind in FALLING_KINDS:
            return value >= level * (1.0 + self.hysteresis)
        return value <= level - self.hysteresis

    def matches(self, account: str, symbols: Iterable[str | None]) -> bool:
        if self.account is not None and not fnmatchcase(account, self.account):
            return False
        if self.symbol is None:
            return True
        pattern = self.symbol.upper()
        return any(s is not None and _symbol_matches(s, pattern) for s in symbols)


def _symbol_matches(symbol: str, pattern: str) -> bool:
    upper = symbol.upper()
    base = upper.split("/", 1)[0].split(":", 1)[0]
    return fnmatchcase(upper, pattern) or fnmatchcase(base, pattern)


def default_rules() -> tuple[Rule, ...]:
    """The rules that run with no ``[[alerts]]`` config (each is also the base a configured rule of
    its kind starts from)."""
    return (
        Rule("margin_ratio", (0.5, 0.7, 0.85), critical=0.85, hysteresis=0.05, cooldown=300.0),
        Rule("distance", (0.10, 0.05, 0.02), critical=0.02, hysteresis=0.2, cooldown=300.0),
        Rule("adl", (4, 5), critical=5, hysteresis=1.0, cooldown=900.0),
        Rule("tier_change", cooldown=300.0),
        Rule("stale", (30.0,), critical=30.0, consecutive=1, cooldown=300.0),
        Rule("position_lost", consecutive=1, cooldown=0.0),
        Rule("connection", consecutive=1, cooldown=300.0),
    )


def default_rule(kind: RuleKind) -> Rule:
    return next(r for r in default_rules() if r.kind == kind)


def _key(*parts: str | None) -> str:
    return _SEP.join("" if p is None else p for p in parts)


def _alert_id(kind: str, key: str, now: float) -> str:
    digest = hashlib.sha256(f"{key}{_SEP}{now!r}".encode()).hexdigest()[:16]
    return f"{kind}-{digest}"


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _pct(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "?"
    return "∞" if math.isinf(x) else f"{x * 100:.1f}%"


def _num(x: float | None) -> str:
    return "?" if x is None or not math.isfinite(x) else f"{x:,.6g}"


def _empty_state() -> dict[str, Any]:
    return {"version": STATE_VERSION, "levels": {}, "connection": {}, "delivered": {}, "pending": {}}


def _valid_state(state: Mapping[str, Any] | None) -> dict[str, Any]:
    """A deep copy of ``state`` if it has the shape this version writes, else a fresh state."""
    fresh = _empty_state()
    if not isinstance(state, Mapping) or state.get("version") != STATE_VERSION:
        return fresh
    for name in ("levels", "connection", "delivered", "pending"):
        part = state.get(name, {})
        if not isinstance(part, Mapping):
            return fresh
        fresh[name] = copy.deepcopy(dict(part))
    return fresh


def _cross_message(account: str, value: float | None, legs: str, level: float) -> str:
    return f"{account}: cross margin ratio {_pct(value)} ≥ {_pct(level)} ({legs})"


def _where(where: tuple[str, str, str]) -> str:
    return " ".join(where)


def _ratio_message(where: tuple[str, str, str], value: float | None, level: float) -> str:
    return f"{_where(where)}: margin ratio {_pct(value)} ≥ {_pct(level)} (isolated)"


def _distance_message(
    where: tuple[str, str, str], value: float, prices: tuple[float, float | None], level: float
) -> str:
    shown = f"mark {_num(prices[0])}, liquidation {_num(prices[1])}"
    return f"{_where(where)}: {_pct(value)} from liquidation ({shown}) ≤ {_pct(level)}"


def _adl_message(where: tuple[str, str, str], lights: int, source: str, level: float) -> str:
    origin = "venue" if source == "exchange" else "estimated"
    return f"{_where(where)}: ADL {lights}/5 lights ({origin}) ≥ {level:g}"


def _stale_message(account: str, age: float, n_open: int, symbols: list[str], level: float) -> str:
    shown = ", ".join(symbols[:5]) + (" …" if len(symbols) > 5 else "")
    plural = "s" if n_open != 1 else ""
    return f"{account}: mark prices stale for {age:.0f} s (≥ {level:g} s) with {n_open} position{plural} open: {shown}"


class AlertEngine:
    """Evaluates rules; returns the alerts to deliver. Call :meth:`evaluate` with every snapshot,
    :meth:`on_notice` with every notice, :meth:`on_status` with every status event, and
    :meth:`mark_delivered` once an alert reached a channel (cooldowns count from delivery)."""

    def __init__(
        self,
        rules: Sequence[Rule] | None = None,
        state: Mapping[str, Any] | None = None,
        *,
        defaults: bool = True,
    ) -> None:
        self.rules: tuple[Rule, ...] = (default_rules() if defaults else ()) + tuple(rules or ())
        self.state: dict[str, Any] = _valid_state(state)
        """Everything the engine remembers, JSON-serialisable (see :class:`AlertStore`)."""
        self.version = 0
        """Incremented whenever :attr:`state` changes (save when it moves)."""
        self._cache: dict[tuple[str, str, tuple[str | None, ...]], Rule | None] = {}
        self._seen: dict[str, float] = {}
        self._started: float | None = None
        self._last_gc = -math.inf
        self._stale_since: dict[str, float] = {}
        self._stale_next: dict[str, float] = {}
        self._tiers: dict[str, tuple[int, int, int, float]] = {}
        """Per position: confirmed tier, candidate tier, snapshots at the candidate, confirmed MMR
        (in memory: after a restart the first sight is the baseline, so nothing is re-sent)."""
        self._tiers_next: dict[str, tuple[int, int, int, float]] = {}
        self._max_cooldown = max((r.cooldown for r in self.rules), default=0.0)

    # ------------------------------------------------------------------ public

    def evaluate(self, snapshot: Snapshot, now: float) -> list[Alert]:
        """Alerts that one snapshot fires, in a deterministic order (accounts in snapshot order;
        per account: the cross margin ratio, then each position's margin ratio, distance, ADL and
        tier, then the stale feed)."""
        if self._started is None:
            self._started = now
        out: list[Alert] = []
        by_account: dict[str, list[PositionView]] = {}
        for view in snapshot.positions:
            by_account.setdefault(view.account, []).append(view)
        for acc in snapshot.accounts:
            self._account(out, acc.name, acc, by_account.pop(acc.name, []), now)
        for name, views in by_account.items():
            self._account(out, name, None, views, now)
        self._stale_since, self._stale_next = self._stale_next, {}  # only positions stale now
        self._tiers, self._tiers_next = self._tiers_next, {}  # only positions open now
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
            message=f"{notice.account}: {notice.message}",
            severity="critical" if notice.kind == "vanished" else "warning",
            id_ts=notice.ts,
        )
        return [alert]

    def on_status(self, status: Status, now: float) -> list[Alert]:
        """A failed connection (state ``error``) fires immediately, once, until the same channel
        connects (or resyncs) again."""
        key = _key(status.account, None, None, "connection", status.channel)
        fired: dict[str, float] = self.state["connection"]
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
        detail = f": {status.detail}" if status.detail else ""
        alert = self._fire(
            rule,
            key,
            now,
            account=status.account,
            level=status.channel,
            message=f"{status.account} ({status.exchange}): {status.channel} connection failed{detail}",
            severity="warning",
        )
        return [alert]

    def mark_delivered(self, alert_id: str, now: float) -> None:
        """The alert reached a channel: its cooldown counts from ``now`` (later deliveries of the
        same alert to other channels change nothing)."""
        entry = self.state["pending"].pop(alert_id, None)
        if entry is None:
            return
        self.state["delivered"][entry[0]] = now
        self.version += 1

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

    def _account(
        self, out: list[Alert], name: str, acc: AccountView | None, views: list[PositionView], now: float
    ) -> None:
        cross = [v for v in views if v.data.margin_mode == "cross" and v.risk is not None]
        if acc is not None and acc.risk is not None and cross:
            a = acc.risk.account
            ratio = a.cross_margin_ratio
            if ratio is None and a.cross_margin_balance <= 0 < a.cross_maintenance_margin:
                ratio = math.inf
            rule = self._rule("margin_ratio", name, [v.data.symbol for v in cross])
            if rule is not None:
                legs = ", ".join(f"{v.data.symbol} {v.data.side}" for v in cross)
                self._threshold(out, rule, name, None, None, ratio, now, _cross_message, name, ratio, legs)
        stale_age = 0.0
        stale_symbols: list[str] = []
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
            symbols = (data.symbol,)
            if data.margin_mode == "isolated" and (rule := self._rule("margin_ratio", name, symbols)) is not None:
                ratio = risk.margin_ratio
                if ratio is None and risk.status == "bankrupt":
                    ratio = math.inf
                self._threshold(out, rule, *where, ratio, now, _ratio_message, where, ratio)
            if (rule := self._rule("distance", name, symbols)) is not None:
                # no liquidation price (fully collateralised): nothing to approach
                distance = math.inf if risk.distance_to_liquidation is None else risk.distance_to_liquidation
                prices = (view.mark_price, risk.liquidation_price)
                self._threshold(out, rule, *where, distance, now, _distance_message, where, distance, prices)
            if (rule := self._rule("adl", name, symbols)) is not None:
                adl = risk.adl
                self._threshold(out, rule, *where, float(adl.lights), now, _adl_message, where, adl.lights, adl.source)
            if (rule := self._rule("tier_change", name, symbols)) is not None:
                self._tier(out, rule, name, data.symbol, data.side, risk.tier.index, risk.tier.mmr, now)
        if (rule := self._rule("stale", name, stale_symbols or [v.data.symbol for v in views])) is not None:
            n_open = len(views)
            self._threshold(
                out, rule, name, None, None, stale_age, now, _stale_message, name, stale_age, n_open, stale_symbols
            )

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
        levels: dict[str, dict[str, dict[str, Any]]] = self.state["levels"]
        item = levels.get(item_key)
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
                    st = item[label] = {"armed": True, "count": 0}
                if st["armed"] and st["count"] < rule.needed(level):
                    st["count"] += 1
                    self.version += 1
            elif st is not None and (st["armed"] or rule.clears(value, level)):
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
        ready = st["armed"] and st["count"] >= rule.needed(level)
        if st["armed"] and not ready:
            return  # the top level's breach is still being confirmed: lower levels keep counting
        for i in range(top):  # less severe levels the top one covers
            lower = item[rule.labels[i]]
            if lower["armed"]:
                lower["armed"], lower["count"] = False, 0
                self.version += 1
        if not ready or self._cooling(key, rule, now):
            return
        st["armed"], st["count"] = False, 0
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
        account: str,
        symbol: str,
        side: str,
        tier: int,
        mmr: float,
        now: float,
    ) -> None:
        """A tier change, confirmed by ``consecutive`` snapshots at the new tier."""
        pos = _key(account, symbol, side, "tier_change")
        st = self._tiers.get(pos)
        if st is None:  # first sight (or after a restart): the baseline, silently
            st = (tier, tier, 0, mmr)
        confirmed, candidate, count, old_mmr = st
        if tier == confirmed:
            self._tiers_next[pos] = (confirmed, confirmed, 0, old_mmr)
            return
        count = count + 1 if candidate == tier else 1
        if count < rule.consecutive:
            self._tiers_next[pos] = (confirmed, tier, count, old_mmr)
            return
        self._tiers_next[pos] = (tier, tier, 0, mmr)
        direction = "up" if tier > confirmed else "down"
        key = pos + _SEP + direction
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
                threshold=float(confirmed),
                message=(
                    f"{account} {symbol} {side}: tier {confirmed} → {tier} "
                    f"(maintenance margin rate {old_mmr * 100:.3g}% → {mmr * 100:.3g}%)"
                ),
                severity="warning" if direction == "up" else "info",
            )
        )

    def _cooling(self, key: str, rule: Rule, now: float) -> bool:
        last = self.state["delivered"].get(key)
        return last is not None and now - float(last) < rule.cooldown

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
        pending: dict[str, list[Any]] = self.state["pending"]
        pending[alert_id] = [key, now]
        while len(pending) > MAX_PENDING:
            del pending[next(iter(pending))]
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
        levels: dict[str, Any] = self.state["levels"]
        for key in [k for k in levels if k.startswith(prefix)]:
            del levels[key]
            self.version += 1
        self._tiers.pop(prefix + "tier_change", None)

    def _gc(self, now: float) -> None:
        """Forget the level state of positions not seen for :data:`GC_AGE` while running (closed
        without a notice), and delivery times older than every cooldown."""
        self._last_gc = now
        started = self._started if self._started is not None else now
        levels: dict[str, Any] = self.state["levels"]
        for key in list(levels):
            if now - max(self._seen.get(key, started), started) > GC_AGE:
                del levels[key]
                self.version += 1
        self._seen = {k: t for k, t in self._seen.items() if k in levels}
        delivered: dict[str, float] = self.state["delivered"]
        for key in [k for k, ts in delivered.items() if now - float(ts) > self._max_cooldown]:
            del delivered[key]
            self.version += 1


def with_overrides(base: Rule, **changes: Any) -> Rule:
    """``base`` with the given fields replaced (``None`` values keep the base's)."""
    return replace(base, **{k: v for k, v in changes.items() if v is not None})


# ---------------------------------------------------------------------- persistence


def default_store_path() -> Path:
    from platformdirs import user_state_path

    return user_state_path("liqwatch") / "alerts.json"


class Outbox(Protocol):
    """What :meth:`AlertStore.sync` needs of a dispatcher: its undelivered alerts."""

    @property
    def version(self) -> int: ...

    def outbox(self) -> dict[str, list[dict[str, Any]]]: ...


class AlertStore:
    """The engine's state (and the dispatcher's undelivered alerts) in a small JSON file, written
    atomically (temporary file, fsync, rename), so a restart neither re-sends nor loses alerts."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_store_path()
        self._saved: tuple[int, int] | None = None

    def load(self) -> dict[str, Any]:
        """``{"engine": state or None, "outbox": {channel key: [alert record, ...]}}``; a missing,
        unreadable or corrupt file loads as empty."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):
            return {"engine": None, "outbox": {}}
        outbox = data.get("outbox")
        return {"engine": data.get("engine"), "outbox": outbox if isinstance(outbox, dict) else {}}

    def load_engine_state(self) -> dict[str, Any] | None:
        state = self.load()["engine"]
        return state if isinstance(state, dict) else None

    def save(self, engine_state: Mapping[str, Any], outbox: Mapping[str, list[dict[str, Any]]] | None = None) -> None:
        payload = json.dumps({"engine": engine_state, "outbox": outbox or {}}, separators=(",", ":"))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".alerts-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def sync(self, engine: AlertEngine, outbox: Outbox | None = None) -> bool:
        """Save if the engine (or ``outbox``, a :class:`~liqwatch.alerts.channels.Dispatcher`)
        changed since the last save; returns whether it wrote."""
        versions = (engine.version, 0 if outbox is None else outbox.version)
        if versions == self._saved:
            return False
        self.save(engine.state, outbox.outbox() if outbox is not None else None)
        self._saved = versions
        return True
