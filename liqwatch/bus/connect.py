"""One NATS connection for liqwatch, from a ``[bus]`` table (:class:`liqwatch.config.BusConfig`).

Secrets (the password, the creds file's contents) are read here only, from the environment or the
OS keyring, and never appear in a record, a log line or an error: URLs are shown without their
user part and library messages are redacted.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from liqwatch.core.errors import InputError

if TYPE_CHECKING:
    from nats.aio.client import Client

    from liqwatch.config import BusConfig

CONNECT_TIMEOUT = 5.0
RECONNECT_WAIT = 0.5
INSTALL = "the bus needs nats-py: pip install 'liqwatch[bus]'"


def safe_url(url: str) -> str:
    """``url`` (one or several, comma-separated) without any ``user:password@`` part."""
    out = []
    for one in (u.strip() for u in url.split(",")):
        parts = urlsplit(one if "://" in one else f"nats://{one}")
        host = parts.netloc.rpartition("@")[2]
        out.append(urlunsplit((parts.scheme, host, parts.path, "", "")))
    return ",".join(out)


def servers(url: str) -> list[str]:
    return [u.strip() for u in url.split(",") if u.strip()]


def _password(cfg: BusConfig, field: str, environ: dict[str, str] | os._Environ[str]) -> str | None:
    if cfg.password_env:
        value = environ.get(cfg.password_env)
        if not value:
            raise InputError(f"{field}.password_env", f"environment variable {cfg.password_env} is not set")
        return value
    if cfg.keyring and cfg.user:
        try:
            import keyring  # optional: pip install 'liqwatch[keyring]'
        except ImportError:
            raise InputError(f"{field}.keyring", "the keyring package is not installed (pip install keyring)") from None
        value = keyring.get_password(cfg.keyring, cfg.user)
        if not value:
            raise InputError(f"{field}.keyring", f"no password stored under {cfg.keyring!r} for user {cfg.user!r}")
        return str(value)
    return None


def connect_options(cfg: BusConfig, field: str = "bus", environ: dict[str, str] | None = None) -> dict[str, Any]:
    """nats-py ``connect`` options of ``cfg`` (credentials resolved, TLS context built)."""
    env = os.environ if environ is None else environ
    options: dict[str, Any] = {}
    password = _password(cfg, field, env)
    if cfg.user:
        options["user"] = cfg.user
        if password is not None:
            options["password"] = password
    if cfg.creds is not None:
        if not cfg.creds.is_file():
            raise InputError(f"{field}.creds", f"{cfg.creds}: no such file")
        options["user_credentials"] = str(cfg.creds)
    if cfg.tls_ca is not None or cfg.tls_cert is not None:
        try:
            context = ssl.create_default_context(cafile=str(cfg.tls_ca) if cfg.tls_ca else None)
            if cfg.tls_cert is not None and cfg.tls_key is not None:
                context.load_cert_chain(str(cfg.tls_cert), str(cfg.tls_key))
        except (OSError, ssl.SSLError) as exc:
            name = "tls_ca" if cfg.tls_cert is None else "tls_cert"
            raise InputError(f"{field}.{name}", f"cannot load: {getattr(exc, 'strerror', None) or exc}") from None
        options["tls"] = context
    return options


def reason(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """A short, secret-free description of a connection or API error."""
    text = str(exc).strip() or type(exc).__name__
    description = getattr(exc, "description", None)
    if description:
        text = str(description)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text.removeprefix("nats: ").strip("'\" ")


def connect_error(url: str, exc: BaseException, field: str, secrets: tuple[str, ...] = ()) -> InputError:
    """The one line for a failed connection: unreachable, refused credentials, TLS."""
    where = safe_url(url)
    why = reason(exc, secrets)
    low = why.lower()
    if "authorization" in low or "authentication" in low or "permissions" in low:
        return InputError(
            field, f"the NATS server at {where} refused the credentials ({why}); check user/password_env/creds"
        )
    if isinstance(exc, ssl.SSLError) or "tls" in low or "ssl" in low or "certificate" in low:
        return InputError(
            field, f"TLS with the NATS server at {where} failed ({why}); check tls_ca / tls:// in the URL"
        )
    return InputError(
        field, f"cannot reach the NATS server at {where} ({why}); check it is running and the URL (nats://HOST:PORT)"
    )


async def _quiet(_: Exception) -> None:
    return None


async def connect(
    cfg: BusConfig,
    *,
    field: str,
    reconnect: bool = False,
    on_disconnect: Callable[[], Awaitable[None]] | None = None,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
    environ: dict[str, str] | None = None,
) -> Client:
    """A connection to ``cfg.url``; ``reconnect``: keeps reconnecting for ever once connected
    (a watcher), else fails on the first error. Raises InputError (one line) if the first connect
    fails."""
    try:
        import nats
    except ImportError:
        raise InputError(field, INSTALL) from None
    assert cfg.url is not None
    options = connect_options(cfg, "bus", environ)
    secrets = tuple(str(options.get(k, "")) for k in ("password",))
    quiet: dict[str, Any] = {"error_cb": _quiet, "connect_timeout": CONNECT_TIMEOUT}
    seen: list[Exception] = []

    async def remember(exc: Exception) -> None:
        seen.append(exc)

    try:  # a first attempt that gives up (each server twice): its error says what is wrong
        probe = await nats.connect(
            servers(cfg.url),
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.1,
            error_cb=remember,
            connect_timeout=CONNECT_TIMEOUT,
            **options,
        )
    except Exception as exc:
        cause = next((e for e in reversed(seen) if type(e).__name__ != "NoServersError"), exc)
        raise connect_error(cfg.url, cause, field, secrets) from None
    if not reconnect:
        return probe
    await probe.close()

    async def disconnected() -> None:
        if on_disconnect is not None:
            await on_disconnect()

    async def reconnected() -> None:
        if on_reconnect is not None:
            await on_reconnect()

    try:
        return await asyncio.wait_for(
            nats.connect(
                servers(cfg.url),
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=RECONNECT_WAIT,
                disconnected_cb=disconnected,
                reconnected_cb=reconnected,
                **quiet,
                **options,
            ),
            timeout=CONNECT_TIMEOUT * 2,
        )
    except Exception as exc:
        raise connect_error(cfg.url, exc, field, secrets) from None


def no_jetstream(url: str, field: str) -> InputError:
    return InputError(
        field,
        f"the NATS server at {safe_url(url)} has no JetStream; start it with -js (or jetstream {{}} in its config)",
    )
