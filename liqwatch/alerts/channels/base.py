"""What every notifier shares: the :class:`Notifier` base (a destination alerts are delivered to:
one ``[[channels]]`` entry, or the dashboard), its errors, and URL redaction.

Secrets: notifier URLs carry tokens in their paths and queries. Every name, message and error a
notifier produces shows a URL only through :func:`redact_url` (or :func:`scrub`)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from urllib.parse import urlsplit

from liqwatch.alerts.model import SEVERITY_RANK, Alert, Severity

DEFAULT_TIMEOUT = 10.0


class NotifierError(ValueError):
    """A notifier that cannot be built (one line, secrets redacted)."""


class DeliveryError(Exception):
    """A send that failed. The message is already redacted; ``retry`` False drops the alert for
    this notifier after reporting (desktop and callback failures: retrying cannot help)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


# ---------------------------------------------------------------------- redaction


def redact_url(url: str) -> str:
    """``url`` with everything that may be a secret replaced: user info, path, query and fragment
    (``https://hooks.slack.com/services/T/B/X`` -> ``https://hooks.slack.com/***``). Non-HTTP
    URLs (apprise's ``tgram://token/chat``) keep only their scheme."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            return f"{scheme}://***" if scheme and "://" in url else "***"
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "***"
    if not host:
        return "***"
    if ":" in host:
        host = f"[{host}]"
    if port is not None:
        host = f"{host}:{port}"
    hidden = parts.path.strip("/") or parts.query or parts.fragment or parts.username or parts.password
    return f"{scheme}://{host}" + ("/***" if hidden else "")


def secrets_of(url: str) -> list[str]:
    """The pieces of ``url`` that must never appear in a message, longest first."""
    url = url.strip()
    pieces = {url}
    with contextlib.suppress(ValueError):
        parts = urlsplit(url)
        pieces.update((parts.path, parts.query, parts.fragment, parts.password or "", parts.username or ""))
        if parts.scheme.lower() not in ("http", "https"):
            pieces.add(parts.netloc)  # apprise URLs keep tokens in the "host"
        pieces.update(parts.path.split("/"))
        pieces.update(parts.query.split("&"))
    return sorted((p for p in pieces if len(p) >= 4), key=len, reverse=True)


def scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def digest(*parts: str) -> str:
    """A notifier's key: a short, irreversible digest of its configuration (secrets included)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def chat_text(alert: Alert) -> str:
    return f"[{alert.severity.upper()}] {alert.message}"


# ---------------------------------------------------------------------- the base


class Notifier:
    """A destination. ``name`` is safe to show; ``key`` identifies the notifier across restarts
    (a digest of its configuration, secrets included, never reversible)."""

    kind = "notifier"

    def __init__(
        self, name: str, *, min_severity: Severity = "info", timeout: float = DEFAULT_TIMEOUT, key: str = ""
    ) -> None:
        self.name = name
        self.min_severity: Severity = min_severity
        self.timeout = timeout
        self.key = key or digest(self.kind, name)

    def accepts(self, alert: Alert) -> bool:
        return SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[self.min_severity]

    @property
    def available(self) -> bool:
        """False where the notifier is a no-op here (desktop without a notification service)."""
        return True

    async def send(self, alert: Alert) -> None:
        """Deliver ``alert``; raise :class:`DeliveryError` (redacted) on failure."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release what :meth:`send` opened (the notifier may send again afterwards)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
