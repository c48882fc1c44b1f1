"""One NATS connection for liqwatch, from a ``[bus]`` table (:class:`liqwatch.config.BusConfig`).

Secrets (the password, the creds file's contents) are read here only, from the environment or the
OS keyring, and never appear in a record, a log line or an error: URLs are shown without their
user part and library messages are redacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
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


AUTH_FIELDS = ("creds", "user", "password_env", "keyring", "tls_ca", "tls_cert", "tls_key")
"""The ``[bus]`` keys that say how to connect; each has a ``--bus-<key>`` flag (dest ``bus_<key>``)."""


def bus_config(
    *,
    field: str,
    url: str | None = None,
    table: BusConfig | None = None,
    args: argparse.Namespace | None = None,
    **extra: str | None,
) -> BusConfig:
    """The one place every bus command (``bus init``, ``watch --publish``, ``watch --source``,
    ``alerts dispatch``, the dashboard's ``--source``) builds its connection settings: the ``[bus]``
    table (``table``, replaced by the file of ``--bus-config FILE`` when given), the ``--bus-*``
    flags of ``args`` over it (see :func:`liqwatch.bus.args.add_auth_arguments`), ``url`` over its
    url and ``extra`` (``group``, ``replica``) over the rest. Then :func:`connect` it. Raises
    InputError with one line prefixed by ``field``; never echoes a secret."""
    from pydantic import ValidationError

    from liqwatch.config import BusConfig

    path: Path | None = getattr(args, "bus_config", None)
    if path is not None:
        from liqwatch.config import load_config

        loaded = load_config(path).bus
        if loaded is None:
            raise InputError(
                f"{field}: {path}", "no [bus] table in this file (url, user, password_env, creds, tls_ca …)"
            )
        table = loaded
    data: dict[str, Any] = (table or BusConfig()).model_dump()
    for name in AUTH_FIELDS:
        value = getattr(args, f"bus_{name}", None)
        if value is not None:
            data[name] = value
    if url is not None:
        data["url"] = url
    data.update({k: v for k, v in extra.items() if v is not None})
    try:
        return BusConfig.model_validate(data)
    except ValidationError as exc:
        from liqwatch.portfolio import _one_line

        first = exc.errors(include_url=False)[0]
        if first["loc"][:1] == ("url",):  # never echo the value: it may hold a password
            raise InputError(f"{field}: url", str(first["msg"]).removeprefix("Value error, ")) from None
        err = _one_line(exc)
        where = f"{field}: {err.field}" if err.field not in ("", "file") else field
        raise InputError(where, err.message) from None


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


def _creds(path: Path, field: str) -> dict[str, Any]:
    """nats-py's option for a creds file: a JWT + seed ``.creds`` file (``nsc``), or a bare nkey
    seed file (``SU…``, as ``nk -gen user`` writes). Both need the ``nkeys`` package. The file's
    contents are never shown."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise InputError(field, f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(field, f"{path}: cannot read ({exc.strerror})") from None
    try:
        import nkeys  # type: ignore[import-untyped]  # noqa: F401  # nats-py signs the server's nonce with it
    except ImportError:
        raise InputError(field, "creds and nkey files need the nkeys package: pip install 'nats-py[nkeys]'") from None
    if "BEGIN NATS USER JWT" in text:
        return {"user_credentials": str(path)}
    if text.strip().startswith("SU"):
        return {"nkeys_seed": str(path)}
    raise InputError(field, f"{path}: neither a NATS creds file (JWT + seed) nor an nkey user seed (SU…)")


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
        options.update(_creds(cfg.creds, f"{field}.creds"))
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


def who(cfg: BusConfig) -> str:
    """Whose credentials, for an error line (never the secret): the user, or the creds file."""
    if cfg.user:
        return f"user {cfg.user!r}"
    if cfg.creds is not None:
        return f"the creds file {cfg.creds}"
    return "an anonymous client"


def connect_error(
    url: str, exc: BaseException, field: str, secrets: tuple[str, ...] = (), cfg: BusConfig | None = None
) -> InputError:
    """The one line for a failed connection: unreachable, refused credentials, TLS."""
    where = safe_url(url)
    why = reason(exc, secrets)
    low = why.lower()
    if "authorization" in low or "authentication" in low or "permissions" in low:
        whose = f" of {who(cfg)}" if cfg is not None else ""
        return InputError(
            field,
            f"the NATS server at {where} refused the credentials ({why}){whose}; check user/password_env/keyring/creds",
        )
    tls = cfg is not None and (cfg.tls_ca is not None or "tls://" in url)
    dropped = ("broken pipe", "reset", "connection lost", "certificate required")
    if tls and cfg is not None and cfg.tls_cert is None and any(word in low for word in dropped):
        return InputError(  # a server that verifies clients drops the handshake of one without a certificate
            field,
            f"TLS with the NATS server at {where} failed ({why}); "
            "if it verifies clients, set tls_cert and tls_key (a certificate signed by its CA)",
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
    publish_check: str | None = None,
) -> Client:
    """A connection to ``cfg.url``; ``reconnect``: keeps reconnecting for ever once connected
    (a watcher), else fails on the first error. ``publish_check``: a subject this connection must
    be allowed to publish to (a watcher's ``liqwatch.probe.<group>.<replica>``, captured by no
    stream), tried once at start so another group's subjects are refused up front. Raises
    InputError (one line) if the first connect or the check fails."""
    try:
        import nats
    except ImportError:
        raise InputError(field, INSTALL) from None
    assert cfg.url is not None
    options = connect_options(cfg, "bus", environ)
    secrets = tuple(str(options.get(k, "")) for k in ("password",))
    quiet: dict[str, Any] = {"error_cb": _quiet, "connect_timeout": CONNECT_TIMEOUT}
    seen: list[Exception] = []
    violation = asyncio.Event()

    async def remember(exc: Exception) -> None:
        seen.append(exc)
        if "permissions violation" in str(exc).lower():
            violation.set()

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
        raise connect_error(cfg.url, cause, field, secrets, cfg) from None
    if publish_check is not None:
        await _check_publish(probe, cfg, publish_check, field, violation)
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
        raise connect_error(cfg.url, exc, field, secrets, cfg) from None


async def _check_publish(nc: Client, cfg: BusConfig, subject: str, field: str, violation: asyncio.Event) -> None:
    """A request on ``subject``, which no one serves: a server that allows the publish answers
    "no responders" at once; one that forbids it drops it and sends ``-ERR 'Permissions Violation
    for Publish to …'`` (``violation``). Whichever comes first decides; a reply or a timeout (someone
    listens on liqwatch.probe.>) lets the connection through."""
    assert cfg.url is not None
    request = asyncio.ensure_future(nc.request(subject, b"", timeout=CONNECT_TIMEOUT))
    refused = asyncio.ensure_future(violation.wait())
    await asyncio.wait({request, refused}, return_when=asyncio.FIRST_COMPLETED)
    for task in (request, refused):
        task.cancel()
    await asyncio.gather(request, refused, return_exceptions=True)
    if violation.is_set():
        await nc.close()
        raise InputError(
            field,
            f"the NATS server at {safe_url(cfg.url)} does not let {who(cfg)} publish to {subject} "
            "(permissions violation); check --group and that user's permissions (README: For desks)",
        )


def no_jetstream(url: str, field: str) -> InputError:
    return InputError(
        field,
        f"the NATS server at {safe_url(url)} has no JetStream; start it with -js (or jetstream {{}} in its config)",
    )
