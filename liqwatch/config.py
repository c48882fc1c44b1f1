"""Configuration: a TOML file at the platform's config dir (``--config`` overrides the path).

```toml
[[accounts]]
name = "main"
exchange = "binance"              # binance, bybit, okx, bitget, gate, hyperliquid, deribit (liqwatch.venues)
api_key_env = "BINANCE_KEY"       # secrets come from the environment ...
api_secret_env = "BINANCE_SECRET"
# keyring = "liqwatch/main"       # ... or the OS keyring: service "liqwatch/main", users api_key / api_secret
# passphrase_env = "OKX_PASSPHRASE"   (OKX)
# wallet = "0x..."                # Hyperliquid: monitored by address, no key
testnet = false
# rest_url = "https://..."        # overrides: testnets, proxies, regional endpoints, test servers
# ws_url = "wss://..."
```

Secrets are resolved only when a feed starts and are held in :class:`Secrets`, whose ``repr`` and
``str`` never show them.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from liqwatch.alerts.config import AlertRuleConfig, ChannelConfig
from liqwatch.core.errors import InputError
from liqwatch.feeds.account import Secrets as Secrets  # noqa: PLC0414 (re-export: its old home)
from liqwatch.venues import get_home, names

if TYPE_CHECKING:
    ExchangeName = str
else:
    # The registered venue names, in registry order (pydantic lists them in its error message).
    ExchangeName = Literal[names()]


class AccountConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=64)]
    exchange: ExchangeName
    api_key_env: str | None = None
    api_secret_env: str | None = None
    passphrase_env: str | None = None
    keyring: str | None = None
    """OS keyring service name; users ``api_key``, ``api_secret`` (and ``passphrase``)."""
    wallet: str | None = None
    testnet: bool = False
    rest_url: str | None = None
    ws_url: str | None = None
    reconcile_seconds: Annotated[float, Field(gt=0)] = 15.0
    """How often positions and balances are re-read over REST (streams are only hints)."""
    inverse: bool | None = None
    """Read the coin-margined (inverse) perpetuals and their coin wallets too (Binance COIN-M,
    Bybit inverse, OKX coin-margined swaps, Bitget COIN-FUTURES, Gate BTC-settled, Deribit): on by
    default on every venue that lists them (unset), ``false`` opts out (fewer REST calls per
    reconcile). A failure to read them (e.g. a Binance key without COIN-M permission) is reported
    once as a note and the account goes on with its linear perpetuals."""

    @field_validator("exchange", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _credentials(self) -> AccountConfig:
        credentials = get_home(self.exchange).credentials
        if self.inverse and not get_home(self.exchange).rest.lists_inverse:
            raise ValueError(f"inverse: {self.exchange} lists no coin-margined perpetuals")
        if credentials == "wallet":
            if not self.wallet:
                raise ValueError(f"{self.exchange} accounts are monitored by wallet address: set wallet = '0x...'")
            return self
        if not self.keyring and not (self.api_key_env and self.api_secret_env):
            raise ValueError(
                f"{self.exchange} needs read-only API credentials: api_key_env and api_secret_env, or keyring"
            )
        if credentials == "key_secret_passphrase" and not self.keyring and not self.passphrase_env:
            raise ValueError(f"{self.exchange} also needs passphrase_env (or keyring)")
        return self


class BusConfig(BaseModel):
    """``[bus]`` (issue #22): where ``liqwatch watch`` publishes (``--publish URL --group G`` win
    over it) and how it authenticates. Secrets never sit in the file: the password comes from the
    environment (``password_env``) or the OS keyring (``keyring`` = service, ``user`` = user)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    """``nats://HOST:PORT`` or ``tls://HOST:PORT``; several comma-separated (a cluster)."""
    group: str | None = None
    """The shard's name in subjects: ``liqwatch.<kind>.<group>.<account>``."""
    replica: str | None = None
    """This watcher's name within its group (header ``Liqwatch-Replica``)."""
    creds: Path | None = None
    """A NATS credentials file (JWT + nkey seed)."""
    user: str | None = None
    password_env: str | None = None
    keyring: str | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @field_validator("group", "replica")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        from liqwatch.bus.names import NAME

        if value is not None and not NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid bus name (1-64 of A-Z a-z 0-9 _ -)")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is None:
            return value
        for one in (u.strip() for u in value.split(",")):
            parts = urlsplit(one if "://" in one else f"nats://{one}")
            if parts.scheme not in ("nats", "tls"):
                raise ValueError(f"use nats://HOST:PORT or tls://HOST:PORT, not {parts.scheme}://")
            if parts.password:  # its own error type: the one-line error never echoes the value
                from pydantic_core import PydanticCustomError

                raise PydanticCustomError(
                    "secret_in_value", "no password in the URL: set user and password_env (or keyring)"
                )
            if not parts.hostname:
                raise ValueError("no host in the URL (nats://HOST:PORT)")
        return value

    @model_validator(mode="after")
    def _pairs(self) -> BusConfig:
        if (self.password_env or self.keyring) and not self.user:
            raise ValueError("password_env / keyring need user")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        return self


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    accounts: list[AccountConfig] = Field(default_factory=list)
    alerts: list[AlertRuleConfig] = Field(default_factory=list)
    """``[[alerts]]``: overrides of the default rules (see liqwatch.alerts.config)."""
    channels: list[ChannelConfig] = Field(default_factory=list)
    """``[[channels]]``: where alerts go besides the screen and `watch` output."""
    bus: BusConfig | None = None
    """``[bus]``: publish ``watch``'s records on NATS JetStream (issue #22)."""

    @model_validator(mode="after")
    def _unique(self) -> Config:
        names = [a.name for a in self.accounts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"account names must be unique: {', '.join(dupes)}")
        return self


CONFIG_DIR_ENV = "LIQWATCH_CONFIG_DIR"
"""A directory that replaces the platform's config dir (the dashboard keeps its settings there too)."""


def default_config_path() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser() / "config.toml"
    from platformdirs import user_config_path

    return user_config_path("liqwatch") / "config.toml"


def load_config(path: Path | None = None, *, warn: list[str] | None = None) -> Config:
    """Read and validate the config. Raises InputError with one line naming the field."""
    path = path or default_config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            str(path),
            "config file not found (write one with `liqwatch init`, pass --config FILE, or run `liqwatch demo`)",
        ) from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read config: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(str(path), f"not valid TOML: {exc}") from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        from liqwatch.portfolio import _one_line

        err = _one_line(exc)
        raise InputError(f"{path}: {err.field}", err.message) from None
    if warn is not None:
        warning = readable_by_others(path, config)
        if warning is not None:
            warn.append(warning)
    return config


def readable_by_others(path: Path, config: Config) -> str | None:
    """The warning for a config file other users can read that says where keys are, or holds a
    channel's URL or headers (their tokens) — every command that reads a config shows it
    (``watch`` as an event line, ``alerts test`` and ``config check`` on stderr, the dashboard on
    screen); None when there is nothing to say."""
    if os.name != "posix":
        return None
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    secrets = any(a.api_key_env or a.keyring for a in config.accounts) or any(
        getattr(c, "url", None) is not None or getattr(c, "headers", None) for c in config.channels
    )
    if mode & (stat.S_IRGRP | stat.S_IROTH) and secrets:
        return f"{path} is readable by other users; chmod 600 it"
    return None


def resolve_secrets(account: AccountConfig, environ: dict[str, str] | None = None) -> Secrets:
    """Look the account's credentials up in the environment or the OS keyring."""
    env = os.environ if environ is None else environ
    if get_home(account.exchange).credentials == "wallet":
        return Secrets(None, None)
    if account.keyring:
        try:
            import keyring  # optional: pip install 'liqwatch[keyring]'
        except ImportError:
            raise InputError(
                f"accounts.{account.name}.keyring", "the keyring package is not installed (pip install keyring)"
            ) from None
        key = keyring.get_password(account.keyring, "api_key")
        secret = keyring.get_password(account.keyring, "api_secret")
        passphrase = keyring.get_password(account.keyring, "passphrase")
        if not key or not secret:
            raise InputError(
                f"accounts.{account.name}.keyring", f"no api_key/api_secret stored under {account.keyring!r}"
            )
        return Secrets(key, secret, passphrase)
    values: list[str | None] = []
    for field in ("api_key_env", "api_secret_env", "passphrase_env"):
        var = getattr(account, field)
        if var is None:
            values.append(None)
            continue
        value = env.get(var)
        if not value:
            raise InputError(f"accounts.{account.name}.{field}", f"environment variable {var} is not set")
        values.append(value)
    return Secrets(values[0], values[1], values[2])
