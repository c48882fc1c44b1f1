"""What an alert is and what fires one: :class:`Alert`, :class:`Rule` (kinds, severities) and the
default rules that run with no ``[[alerts]]`` config."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict

from liqwatch.core.bands import BANDS

RuleKind = Literal[
    "margin_ratio",
    "distance",
    "adl",
    "tier_change",
    "stale",
    "position_lost",
    "connection",
    "insurance_drawdown",
    "adl_risk",
    "mark_index_divergence",
    "funding",
    "collateral_depeg",
    "collateral_haircut",
]
RULE_KINDS: tuple[RuleKind, ...] = get_args(RuleKind)
MARKET_KINDS: frozenset[str] = frozenset({"insurance_drawdown", "adl_risk", "mark_index_divergence"})
"""Rules on a venue's market (issue #13): their ``account`` scope is the exchange name, their
``symbol`` scope the pool's name or symbols, or the symbol."""
THRESHOLD_KINDS: frozenset[str] = frozenset(
    {
        "margin_ratio",
        "distance",
        "adl",
        "stale",
        "insurance_drawdown",
        "adl_risk",
        "mark_index_divergence",
        "funding",
        "collateral_depeg",
        "collateral_haircut",
    }
)
"""Rules with levels; the others fire on events (a tier change, a notice, a status)."""
FALLING_KINDS: frozenset[str] = frozenset({"distance"})
"""Rules whose value breaches a level by falling to it (the others breach by rising)."""

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


class Alert(BaseModel):
    """One alert. ``id`` is stable and unique per firing: notifiers deduplicate by it.

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
    window: float = 3600.0
    """``collateral_haircut``: the rolling window (seconds) the effective equity's fall is measured over."""
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
    its kind starts from). The margin-ratio levels are the risk bands (:data:`liqwatch.core.bands.BANDS`)."""
    return (
        Rule("margin_ratio", BANDS.levels, critical=BANDS.critical, hysteresis=0.05, cooldown=300.0),
        Rule("distance", (0.10, 0.05, 0.02), critical=0.02, hysteresis=0.2, cooldown=300.0),
        Rule("adl", (4, 5), critical=5, hysteresis=1.0, cooldown=900.0),
        Rule("tier_change", cooldown=300.0),
        Rule("stale", (30.0,), critical=30.0, consecutive=1, cooldown=300.0),
        Rule("position_lost", consecutive=1, cooldown=0.0),
        Rule("connection", consecutive=1, cooldown=300.0),
        # issue #13: the backstop and the market
        Rule("insurance_drawdown", (0.10, 0.20, 0.30), critical=0.30, consecutive=1, hysteresis=0.02, cooldown=900.0),
        Rule("adl_risk", (1, 2), critical=2, consecutive=1, hysteresis=1.0, cooldown=900.0),
        Rule("mark_index_divergence", (0.005, 0.01, 0.02), critical=0.02, hysteresis=0.001, cooldown=300.0),
        Rule("funding", (0.1,), consecutive=1, hysteresis=0.02, cooldown=3600.0),
        # issue #21: a multi-assets account's collateral
        Rule("collateral_depeg", (0.02, 0.05, 0.10), critical=0.10, hysteresis=0.005, cooldown=900.0),
        Rule("collateral_haircut", (0.10,), hysteresis=0.02, cooldown=900.0, window=3600.0),
    )


def default_rule(kind: RuleKind) -> Rule:
    return next(r for r in default_rules() if r.kind == kind)


def with_overrides(base: Rule, **changes: Any) -> Rule:
    """``base`` with the given fields replaced (``None`` values keep the base's)."""
    return replace(base, **{k: v for k, v in changes.items() if v is not None})
