"""ccxt clients for every feed: one way to build them and one translation of their failures.

ccxt is imported lazily (by the callers, into the ``module`` they pass; ``liqwatch calc`` never
imports it). Every ccxt failure becomes a :class:`FeedError` with one redacted line: no API key,
secret or passphrase can reach a message.

``rest_url`` (config) replaces the scheme and host of every REST base URL ccxt knows for the venue,
keeping the path (``https://fapi.binance.com/fapi/v1`` -> ``<rest_url>/fapi/v1``, templated
``https://api.{hostname}`` -> ``<rest_url>``); websocket URLs are left alone. Without ``rest_url``,
``testnet = true`` switches ccxt to the venue's sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from pydantic import ValidationError

from liqwatch.feeds.parse import DataError

if TYPE_CHECKING:
    from liqwatch.feeds.account import Account as AccountConfig
    from liqwatch.feeds.account import Secrets

FEED_ERROR_KINDS: Final = frozenset(
    {"auth", "permission", "maintenance", "rate_limit", "network", "exchange", "config"}
)

AUTH_MESSAGE: Final = "authentication failed: check the API key, secret and IP whitelist"
_MAX_DETAIL = 240
_QUERY = re.compile(r"\?\S*")
_SPACE = re.compile(r"\s+")
# ccxt's HTTP error text: "<id> <METHOD> <url> <status> <reason> <body>"
_HTTP_STATUS = re.compile(r"^\S+ (?:GET|POST|PUT|DELETE|PATCH) \S+ (\d{3})\b")


class FeedError(Exception):
    """A feed failure, one clear line. ``kind`` is one of :data:`FEED_ERROR_KINDS`."""

    def __init__(self, kind: str, message: str) -> None:
        if kind not in FEED_ERROR_KINDS:
            raise ValueError(f"unknown FeedError kind {kind!r}")
        message = _SPACE.sub(" ", message).strip()
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message


def strip_query(text: str) -> str:
    """``text`` without URL query strings (they may carry signatures or listen keys)."""
    return _QUERY.sub("", text)


def failure_reason(exc: BaseException) -> str:
    """A short reason for a failed call, without its URL or payload (no query, no secret):
    :func:`classify`'s few words (``HTTP 503``, ``connection refused``, ``DNS lookup failed``)."""
    return classify(exc).why


_URL_HOST = re.compile(r"\bhttps?://([^/\s?#]+)")

NETWORK_KINDS: Final = frozenset({"dns", "refused", "unreachable", "timeout"})
"""Failure kinds where the venue was never heard from (:func:`classify`)."""
OFFLINE_ADVICE: Final = "check the network, or work offline with the bundled tables"


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failed call to a venue means, from :func:`classify`.

    ``kind``: ``dns``, ``refused``, ``unreachable``, ``timeout`` (the venue was never heard from:
    :data:`NETWORK_KINDS`), ``http`` (an HTTP error status), ``auth``, ``rate_limit`` or ``exchange``
    (the venue answered with an error). ``why``: the reason in a few words (``DNS lookup failed``,
    ``HTTP 503``). ``host``: the host the call went to, when the error names it. ``transient``:
    another try soon may succeed (a timeout, a rate limit, a 5xx); a DNS failure or a refused
    connection is not retried."""

    kind: str
    why: str
    host: str
    transient: bool

    @property
    def network(self) -> bool:
        return self.kind in NETWORK_KINDS


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes / contexts, outermost first (at most a few links)."""
    out: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in out and len(out) < 8:
        out.append(link)
        link = link.__cause__ or link.__context__
    return out


def classify(exc: BaseException) -> Failure:
    """One reading of a failed venue call (ccxt's exception, its aiohttp / socket cause, or a bare
    OSError / TimeoutError): what kind of failure, in a few words, and whether to retry it. Used
    by ``liqwatch market``, ``liqwatch tiers update`` and ``liqwatch calc``'s fetch of a table."""
    import socket

    text = str(exc)
    found = _URL_HOST.search(text)
    host = found.group(1).rpartition("@")[2] if found else ""
    chain = _chain(exc)
    names = {cls.__name__ for link in chain for cls in type(link).__mro__}
    if any(isinstance(e, socket.gaierror) for e in chain) or "ClientConnectorDNSError" in names:
        return Failure("dns", "DNS lookup failed", host, False)
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return Failure("refused", "connection refused", host, False)
    if "RequestTimeout" in names or any(isinstance(e, TimeoutError) for e in chain):
        return Failure("timeout", "no answer in time", host, True)
    status = _HTTP_STATUS.match(text)
    code = status.group(1) if status else ""
    if code in ("429", "418") or "RateLimitExceeded" in names or "DDoSProtection" in names:
        return Failure("rate_limit", f"HTTP {code}" if code else "rate limit", host, True)
    if code in ("401", "403") or "AuthenticationError" in names or "PermissionDenied" in names:
        return Failure("auth", f"HTTP {code}" if code else "authentication failed", host, False)
    if code.startswith("5"):
        return Failure("http", f"HTTP {code}", host, True)
    if code:
        return Failure("http", f"HTTP {code}", host, False)
    if "OnMaintenance" in names:
        return Failure("http", "under maintenance", host, True)
    os_errors = [e for e in chain if isinstance(e, OSError)]
    if not os_errors and "ClientConnectionError" not in names and "ExchangeNotAvailable" in names:
        return Failure("http", "unavailable", host, True)  # the venue answered that it is unavailable
    if os_errors or "ClientConnectionError" in names:
        strerror = next((e.strerror for e in os_errors if e.strerror), None)
        return Failure("unreachable", (strerror or "connection failed").lower(), host, True)
    if "NetworkError" in names:
        return Failure("unreachable", "network error", host, True)
    if "BaseError" in names:  # ccxt's: the venue's answer was an error
        return Failure("exchange", f"the venue answered an error ({type(exc).__name__})", host, False)
    return Failure("exchange", f"unexpected answer ({type(exc).__name__})", host, False)


def explain(venue: str, exc: BaseException, *, host: str = "", offline: str = OFFLINE_ADVICE) -> str:
    """One line for a failed call to ``venue``: what failed, why, and what to do. ``host``: where
    the call went when the error does not say (a base URL or a bare host); ``offline``: what to do
    when the network is the problem. Never a URL path, query, key or internal file name."""
    failure = classify(exc)
    where = failure.host or _URL_HOST.sub(r"\1", host).rstrip("/") or venue
    if failure.network and failure.kind != "timeout":
        return f"{venue}: cannot reach {where} ({failure.why}): {offline}"
    if failure.kind == "timeout":
        return f"{venue}: {where} did not answer in time: {offline}"
    if failure.kind == "rate_limit":
        return f"{venue}: {where} is rate-limiting requests ({failure.why}): wait a minute and try again"
    if failure.kind == "auth":
        advice = "check the API key, secret and IP whitelist, or the REST URL"
        return f"{venue}: {where} refused the request ({failure.why}): {advice}"
    if failure.kind == "http" and failure.transient:
        return f"{venue}: {where} is failing ({failure.why}): the venue may be down or in maintenance; try again later"
    if failure.kind == "http":
        return f"{venue}: {where} answered {failure.why}: check the REST URL, or try again later"
    return f"{venue}: {where}: {failure.why}; try again later"


_UNREACHABLE = re.compile(r"^(?P<venue>[\w.-]+): cannot reach (?P<host>\S+) \((?P<why>[^)]*)\): (?P<advice>.+)$")


def merge_unreachable(lines: list[str]) -> list[str]:
    """``lines`` with the :func:`explain` lines of venues that could not be reached for the same
    reason (the network is down: every venue's DNS lookup failed) said once, where the first was:
    ``bybit, okx, gate: cannot reach any of them (DNS lookup failed): check the network, ...``."""
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for i, line in enumerate(lines):
        found = _UNREACHABLE.match(line)
        if found is not None:
            groups.setdefault((found["why"], found["advice"]), []).append((i, found["venue"]))
    out: list[str] = []
    for i, line in enumerate(lines):
        found = _UNREACHABLE.match(line)
        members = groups[(found["why"], found["advice"])] if found is not None else []
        if found is None or len(members) == 1:
            out.append(line)
        elif members[0][0] == i:
            venues = ", ".join(venue for _, venue in members)
            out.append(f"{venues}: cannot reach any of them ({found['why']}): {found['advice']}")
    return out


def override_urls(urls: Any, rest_url: str) -> Any:
    """``urls`` (ccxt ``urls['api']``, nested) with every http(s) base pointed at ``rest_url``."""
    base = rest_url.rstrip("/")
    if isinstance(urls, dict):
        return {key: override_urls(value, rest_url) for key, value in urls.items()}
    if isinstance(urls, str) and urls.startswith(("http://", "https://")):
        rest = urls.split("://", 1)[1]
        path = rest[rest.find("/") :] if "/" in rest else ""
        return base + path
    return urls


def account_prefix(account: AccountConfig) -> str:
    return f"{account.exchange} account '{account.name}': "


class Adapter(Protocol):
    """What :func:`new_exchange` reads of a venue's REST adapter (``liqwatch.feeds.venue_rest.VenueRest``,
    which builds on this module: no import back)."""

    @property
    def ccxt_id(self) -> str: ...
    def config(self, account: AccountConfig) -> dict[str, Any]: ...


def new_exchange(
    module: Any, adapter: Adapter, account: AccountConfig, secrets: Secrets, *, options: dict[str, Any]
) -> Any:
    """A ccxt instance (from ``module``: ``ccxt.async_support`` or ``ccxt.pro``) for the account's
    venue, with ``options``, the adapter's constructor keys and the account's credentials.
    Currencies are not loaded: several venues make that a private, wallet-scoped call."""
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "options": options,
        **adapter.config(account),
        **secrets.ccxt_options(),
    }
    ex = getattr(module, adapter.ccxt_id)(config)
    ex.has["fetchCurrencies"] = False
    return ex


def point_at(ex: Any, account: AccountConfig, *, no_sandbox: type[BaseException], no_sandbox_message: str) -> None:
    """Aim ``ex`` at the account's ``rest_url``, else its venue's sandbox when ``testnet``;
    a venue ccxt has no sandbox for (``no_sandbox`` raised) is a ``config`` FeedError."""
    if account.rest_url:
        ex.urls["api"] = override_urls(ex.urls["api"], account.rest_url)
    elif account.testnet:
        try:
            ex.set_sandbox_mode(True)
        except no_sandbox:
            raise FeedError("config", account_prefix(account) + no_sandbox_message) from None


class ErrorTranslator:
    """Whatever ccxt (or a malformed payload) raises for one account, as one redacted FeedError."""

    def __init__(self, account: AccountConfig, redact: Callable[[str], str]) -> None:
        self.account = account
        self.redact = redact

    def error(self, kind: str, text: str) -> FeedError:
        return FeedError(kind, self.redact(account_prefix(self.account) + text))

    def detail(self, exc: BaseException) -> str:
        text = self.redact(str(exc) or type(exc).__name__)
        text = _SPACE.sub(" ", _QUERY.sub("", text)).strip()
        if len(text) > _MAX_DETAIL:
            text = text[: _MAX_DETAIL - 3] + "..."
        return text

    def network(self, exc: BaseException, doing: str) -> str:
        """A network failure in :func:`classify`'s words: the host and why (DNS lookup failed,
        connection refused, no answer in time), not ccxt's class name and the URL it called."""
        failure = classify(exc)
        if not failure.network:
            return f"network error while {doing} ({self.detail(exc)})"
        where = failure.host or self.account.exchange
        if failure.kind == "timeout":
            return f"network error while {doing}: {where} did not answer in time; check the network"
        return f"network error while {doing}: cannot reach {where} ({failure.why}); check the network"

    def translate(self, exc: Exception, doing: str) -> FeedError:
        import aiohttp
        import ccxt.async_support as ccxt_async

        detail = self.detail(exc)
        error = self.error
        # ccxt reports refused connections and DNS failures as ExchangeNotAvailable (and other
        # transport failures as ExchangeError): the cause tells a network problem from the venue's.
        if isinstance(exc.__cause__, OSError | aiohttp.ClientError) and not isinstance(exc, ccxt_async.RequestTimeout):
            return error("network", self.network(exc, doing))
        if isinstance(exc, ccxt_async.PermissionDenied):
            return error("permission", f"permission denied while {doing}: the key needs read access ({detail})")
        if isinstance(exc, ccxt_async.AuthenticationError):
            return error("auth", AUTH_MESSAGE)
        if isinstance(exc, ccxt_async.OnMaintenance):
            return error("maintenance", f"exchange under maintenance while {doing} ({detail})")
        # A bare HTTP 429/418 (no venue payload) is a rate limit whatever class ccxt picked for it
        # (its OKX table says ExchangeNotAvailable).
        status = _HTTP_STATUS.match(str(exc))
        throttled = status is not None and status.group(1) in ("429", "418")
        if throttled and not isinstance(exc, ccxt_async.AuthenticationError):
            return error("rate_limit", f"rate limited while {doing} ({detail})")
        if isinstance(exc, ccxt_async.RateLimitExceeded | ccxt_async.DDoSProtection):
            # Binance reports a revoked key (-2015) as DDoSProtection once a session has authenticated.
            if "-2015" in str(exc):
                return error("auth", AUTH_MESSAGE)
            return error("rate_limit", f"rate limited while {doing} ({detail})")
        if isinstance(exc, ccxt_async.ExchangeNotAvailable):
            return error("maintenance", f"exchange unavailable while {doing} ({detail})")
        if isinstance(exc, ccxt_async.NetworkError | TimeoutError | OSError):
            return error("network", self.network(exc, doing))
        if isinstance(exc, ccxt_async.BaseError):
            return error("exchange", f"exchange error while {doing} ({detail})")
        if isinstance(exc, DataError | ValidationError | KeyError | TypeError | ValueError):
            return error("exchange", f"unexpected response while {doing} ({type(exc).__name__}: {detail})")
        return error("exchange", f"unexpected failure while {doing} ({type(exc).__name__}: {detail})")
