"""The ``[[alerts]]`` and ``[[channels]]`` tables of the config file: each ``[[alerts]]`` entry
becomes a :class:`~liqwatch.alerts.model.Rule`, each ``[[channels]]`` entry a notifier
(:mod:`liqwatch.alerts.channels`).

With no ``[[alerts]]`` the default rules run (:func:`liqwatch.alerts.model.default_rules`). Each
``[[alerts]]`` entry layers over the default rule of its kind: fields left out keep the default.
Where several entries of a kind match a position, the most specific wins (account and symbol >
account > symbol > none), and among equals the later one. ``enabled = false`` turns a rule off
(for its scope only, when scoped).

```toml
[[alerts]]
rule = "margin_ratio"          # margin_ratio, distance, adl, tier_change, stale, position_lost, connection,
                               # insurance_drawdown, adl_risk, mark_index_divergence, funding (issue #13),
                               # collateral_depeg, collateral_haircut (issue #21)
levels = [0.5, 0.7, 0.85]      # fractions (0.85 = 85%); distance: [0.10, 0.05, 0.02]; adl: lights [4, 5];
                               # stale: seconds [30]
critical = 0.85                # this level and beyond: severity critical, fires on the first breach
consecutive = 2                # breaches in a row before a non-critical level fires
hysteresis = 0.05              # re-arm margin: ratio/adl below level - h; distance above level * (1 + h)
cooldown_seconds = 300         # per (account, symbol, rule, level), from the last delivered alert
# account = "main"             # scope (exact name or glob); symbol = "BTC" matches BTC/USDT:USDT
                               # market rules (insurance_drawdown, adl_risk, mark_index_divergence):
                               # account is the exchange ("bybit"), symbol the pool or symbol
# insurance_drawdown: [0.10, 0.20, 0.30] from the pool's 8-hour max; adl_risk: [1, 2] (1 = venue
# rating high / Bybit pnlRatio within 0.05 of its trigger, 2 = ADL active); mark_index_divergence:
# [0.005, 0.01, 0.02] of |mark - index| / index; funding: [0.1] = the next payment moves the
# liquidation price by more than a tenth of the distance to it
# issue #21, a multi-assets account's collateral (symbol scopes the asset: symbol = "USDE"):
# collateral_depeg: [0.02, 0.05, 0.10] (critical 0.10, hysteresis 0.005, cooldown 900) of
# |venue price - reference| / reference; the reference is 1.0 for a USD stablecoin (USDT, USDC,
# FDUSD, USDE, DAI, TUSD, BUSD, USD1, PYUSD), else the median of the other venues' prices of the
# asset liqwatch holds (their <ASSET>/USDT, /USDC or /USD marks, their collateral prices); an asset
# with neither has no depeg rule
# collateral_haircut: [0.10] = effective equity more than 10 % below its high of the last
# window_seconds (default 3600) with no position change (a position opened, closed or resized, or
# a collateral balance changed, restarts the window)
# enabled = false

[[channels]]
type = "webhook"               # webhook, slack, discord, ntfy, telegram, apprise, command, desktop
url_env = "LIQWATCH_WEBHOOK"   # or url = "https://..." (keep tokens out of the file: prefer url_env)
min_severity = "warning"       # info, warning, critical
# timeout_seconds = 10
# name = "ops hook"            # shown instead of the redacted URL

[[channels]]
type = "slack"                 # an https://hooks.slack.com/... URL posts {"text": ...};
url_env = "SLACK_HOOK"         # a slack:// URL goes through apprise (optional extra)

[[channels]]
type = "telegram"
bot_token_env = "TG_TOKEN"     # or url = "tgram://token/chat" (apprise)
chat_id = "123456789"

[[channels]]
type = "ntfy"
url = "https://ntfy.sh/my-secret-topic"
# token_env = "NTFY_TOKEN"

[[channels]]
type = "command"
command = ["/usr/local/bin/on-alert", "--quiet"]   # the alert JSON on stdin

[[channels]]
type = "desktop"               # notify-send / osascript; a no-op where neither exists
```
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from liqwatch.alerts.channels import (
    APPRISE_HINT,
    AppriseNotifier,
    CommandNotifier,
    DesktopNotifier,
    DiscordNotifier,
    Notifier,
    NotifierError,
    NtfyNotifier,
    SlackNotifier,
    TelegramNotifier,
    WebhookNotifier,
    load_apprise,
)
from liqwatch.alerts.engine import AlertEngine, EngineState
from liqwatch.alerts.model import (
    FALLING_KINDS,
    THRESHOLD_KINDS,
    Rule,
    RuleKind,
    Severity,
    default_rule,
    with_overrides,
)
from liqwatch.core.errors import InputError
from liqwatch.numfmt import typed

# ---------------------------------------------------------------------- [[alerts]]

_FRACTION_KINDS = frozenset(
    {"insurance_drawdown", "mark_index_divergence", "funding", "collateral_depeg", "collateral_haircut"}
)
"""Rules whose levels are fractions in (0, 1]."""


class AlertRuleConfig(BaseModel):
    """One ``[[alerts]]`` entry (unset fields keep the default rule's values)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: RuleKind
    levels: list[float] | None = None
    critical: float | None = None
    account: Annotated[str, Field(min_length=1)] | None = None
    symbol: Annotated[str, Field(min_length=1)] | None = None
    consecutive: Annotated[int, Field(ge=1, le=100)] | None = None
    consecutive_critical: Annotated[int, Field(ge=1, le=100)] | None = None
    hysteresis: Annotated[float, Field(ge=0)] | None = None
    cooldown_seconds: Annotated[float, Field(ge=0)] | None = None
    window_seconds: Annotated[float, Field(gt=0, le=7 * 86400)] | None = None
    """``collateral_haircut`` only: the rolling window the effective equity's fall is measured over."""
    enabled: bool = True

    @field_validator("rule", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _levels(self) -> AlertRuleConfig:
        if self.window_seconds is not None and self.rule != "collateral_haircut":
            raise ValueError(f"window_seconds is a collateral_haircut setting ({self.rule} has no window)")
        if self.rule not in THRESHOLD_KINDS:
            if self.levels is not None or self.critical is not None:
                raise ValueError(f"{self.rule} has no levels (it fires on the event itself)")
            return self
        values = list(self.levels or [])
        if self.critical is not None:
            values.append(self.critical)
        if self.levels is not None and not self.levels:
            raise ValueError("levels must not be empty (set enabled = false to turn the rule off)")
        for x in values:
            if self.rule == "margin_ratio" and not (0 < x <= 2):
                raise ValueError(f"margin_ratio levels are fractions (0.85 = 85%), got {typed(x)}")
            if self.rule == "distance" and not (0 < x < 1):
                raise ValueError(f"distance levels are fractions of the mark price (0.02 = 2%), got {typed(x)}")
            if self.rule == "adl" and not (x == int(x) and 1 <= x <= 5):
                raise ValueError(f"adl levels are lights from 1 to 5, got {typed(x)}")
            if self.rule == "stale" and not (x > 0):
                raise ValueError(f"stale levels are seconds > 0, got {typed(x)}")
            if self.rule in _FRACTION_KINDS and not (0 < x <= 1):
                raise ValueError(f"{self.rule} levels are fractions (0.1 = 10%), got {typed(x)}")
            if self.rule == "adl_risk" and x not in (1, 2):
                raise ValueError(
                    f"adl_risk levels are 1 (near: venue rating high, a pnlRatio within 0.05 of its trigger) "
                    f"or 2 (active), got {typed(x)}"
                )
        return self

    def to_rule(self) -> Rule:
        base = default_rule(self.rule)
        critical = self.critical
        if critical is None and self.levels:
            critical = min(self.levels) if self.rule in FALLING_KINDS else max(self.levels)
        return with_overrides(
            base,
            levels=tuple(self.levels) if self.levels else None,
            critical=critical,
            account=self.account,
            symbol=self.symbol,
            consecutive=self.consecutive,
            consecutive_critical=self.consecutive_critical,
            hysteresis=self.hysteresis,
            cooldown=self.cooldown_seconds,
            enabled=self.enabled,
            window=self.window_seconds,
        )


def build_engine(
    alert_configs: Sequence[AlertRuleConfig] = (),
    state: EngineState | Mapping[str, Any] | None = None,
    identities: Mapping[str, str] | None = None,
) -> AlertEngine:
    """The engine for a config's ``[[alerts]]`` (the defaults when there are none), resuming from
    ``state`` (``AlertStore.load_engine_state()``) as far as it vouches for the accounts of
    ``identities`` (see :class:`~liqwatch.alerts.engine.AlertEngine`)."""
    return AlertEngine([c.to_rule() for c in alert_configs], state, identities=identities)


# ---------------------------------------------------------------------- [[channels]]


class _ChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    """Shown in reports instead of the (redacted) URL."""
    min_severity: Severity = "info"
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    enabled: bool = True


class _UrlChannelConfig(_ChannelConfig):
    url: Annotated[str, Field(min_length=1)] | None = None
    url_env: Annotated[str, Field(min_length=1)] | None = None
    """An environment variable holding the URL (keeps its token out of the file)."""

    @model_validator(mode="after")
    def _one_url(self) -> _UrlChannelConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url or url_env")
        return self


class WebhookChannelConfig(_UrlChannelConfig):
    type: Literal["webhook"]
    headers: dict[str, str] = Field(default_factory=dict)


class SlackChannelConfig(_UrlChannelConfig):
    type: Literal["slack"]


class DiscordChannelConfig(_UrlChannelConfig):
    type: Literal["discord"]


class NtfyChannelConfig(_UrlChannelConfig):
    type: Literal["ntfy"]
    token_env: str | None = None


class AppriseChannelConfig(_UrlChannelConfig):
    type: Literal["apprise"]


class TelegramChannelConfig(_ChannelConfig):
    type: Literal["telegram"]
    url: str | None = None
    """An apprise ``tgram://token/chat`` URL (needs apprise) ..."""
    url_env: str | None = None
    bot_token_env: str | None = None
    """... or the bot API directly: the token from this variable, and ``chat_id``."""
    chat_id: str | int | None = None
    api_url: str = "https://api.telegram.org"

    @model_validator(mode="after")
    def _either(self) -> TelegramChannelConfig:
        by_url = self.url is not None or self.url_env is not None
        by_bot = self.bot_token_env is not None or self.chat_id is not None
        if by_url == by_bot or (self.url is not None and self.url_env is not None):
            raise ValueError("give url (or url_env) = 'tgram://...', or bot_token_env and chat_id")
        if by_bot and (self.bot_token_env is None or self.chat_id is None):
            raise ValueError("the bot API needs both bot_token_env and chat_id")
        return self


class CommandChannelConfig(_ChannelConfig):
    type: Literal["command"]
    command: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class DesktopChannelConfig(_ChannelConfig):
    type: Literal["desktop"]


ChannelConfig = Annotated[
    WebhookChannelConfig
    | SlackChannelConfig
    | DiscordChannelConfig
    | NtfyChannelConfig
    | TelegramChannelConfig
    | AppriseChannelConfig
    | CommandChannelConfig
    | DesktopChannelConfig,
    Field(discriminator="type"),
]


def _env(field: str, var: str, environ: Mapping[str, str]) -> str:
    value = environ.get(var)
    if not value:
        raise InputError(field, f"environment variable {var} is not set")
    return value


def _is_http(url: str) -> bool:
    try:
        return urlsplit(url.strip()).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def _apprise(url: str, cfg: _ChannelConfig, field: str) -> Notifier:
    try:
        load_apprise()
    except NotifierError:
        scheme = url.split("://", 1)[0] if "://" in url else "this"
        raise InputError(field, f"{scheme}:// URLs need the apprise package: {APPRISE_HINT}") from None
    return AppriseNotifier(url, min_severity=cfg.min_severity, timeout=cfg.timeout_seconds)


def build_notifier(cfg: ChannelConfig, index: int = 0, environ: Mapping[str, str] | None = None) -> Notifier | None:
    """The notifier of one ``[[channels]]`` entry (None when disabled). Raises :class:`InputError` naming the field,
    with any URL redacted."""
    env = os.environ if environ is None else environ
    field = f"channels[{index}]"
    if not cfg.enabled:
        return None
    common: dict[str, Any] = {"min_severity": cfg.min_severity, "timeout": cfg.timeout_seconds}
    try:
        if isinstance(cfg, CommandChannelConfig):
            return CommandNotifier(cfg.command, **common)
        if isinstance(cfg, DesktopChannelConfig):
            return DesktopNotifier(**common)
        if isinstance(cfg, TelegramChannelConfig):
            if cfg.bot_token_env is not None:
                token = _env(f"{field}.bot_token_env", cfg.bot_token_env, env)
                return TelegramNotifier(token, str(cfg.chat_id), api_url=cfg.api_url, label=cfg.name, **common)
            url = cfg.url if cfg.url is not None else _env(f"{field}.url_env", str(cfg.url_env), env)
            return _apprise(url, cfg, f"{field}.url")
        url = cfg.url if cfg.url is not None else _env(f"{field}.url_env", str(cfg.url_env), env)
        if isinstance(cfg, AppriseChannelConfig) or not _is_http(url):
            if isinstance(cfg, WebhookChannelConfig):
                raise InputError(f"{field}.url", "a webhook needs an http(s) URL")
            return _apprise(url, cfg, f"{field}.url")
        if isinstance(cfg, WebhookChannelConfig):
            return WebhookNotifier(url, headers=cfg.headers, label=cfg.name, **common)
        if isinstance(cfg, SlackChannelConfig):
            return SlackNotifier(url, label=cfg.name, **common)
        if isinstance(cfg, DiscordChannelConfig):
            return DiscordNotifier(url, label=cfg.name, **common)
        ntfy_token = _env(f"{field}.token_env", cfg.token_env, env) if cfg.token_env else None
        return NtfyNotifier(url, token=ntfy_token, label=cfg.name, **common)
    except NotifierError as exc:
        raise InputError(field, str(exc)) from None


def build_notifiers(
    channel_configs: Sequence[ChannelConfig], environ: Mapping[str, str] | None = None
) -> list[Notifier]:
    """The notifiers of a config's ``[[channels]]``, in order (disabled ones left out)."""
    out: list[Notifier] = []
    for i, cfg in enumerate(channel_configs):
        notifier = build_notifier(cfg, i, environ)
        if notifier is not None:
            out.append(notifier)
    return out


__all__ = [
    "AlertRuleConfig",
    "AppriseChannelConfig",
    "ChannelConfig",
    "CommandChannelConfig",
    "DesktopChannelConfig",
    "DiscordChannelConfig",
    "NtfyChannelConfig",
    "SlackChannelConfig",
    "TelegramChannelConfig",
    "WebhookChannelConfig",
    "build_engine",
    "build_notifier",
    "build_notifiers",
]
