"""The shared base of the notifiers that POST to one HTTP(S) URL."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from liqwatch.alerts.channels.base import (
    DEFAULT_TIMEOUT,
    DeliveryError,
    Notifier,
    NotifierError,
    digest,
    redact_url,
    scrub,
    secrets_of,
)
from liqwatch.alerts.model import Severity
from liqwatch.numfmt import plain


class HttpNotifier(Notifier):
    """A notifier that POSTs to one URL (its secrets never leave this object)."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        min_severity: Severity = "info",
        timeout: float = DEFAULT_TIMEOUT,
        label: str | None = None,
    ) -> None:
        scheme = urlsplit(url.strip()).scheme.lower()
        if scheme not in ("http", "https"):
            raise NotifierError(f"{self.kind}: expected an http(s) URL, got {redact_url(url)}")
        super().__init__(
            f"{self.kind} {label or redact_url(url)}",
            min_severity=min_severity,
            timeout=timeout,
            key=digest(self.kind, url, json.dumps(dict(headers or {}), sort_keys=True)),
        )
        self._url = url.strip()
        self._headers = dict(headers or {})
        self._secrets = secrets_of(url) + [v for v in self._headers.values() if len(v) >= 4]
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
            self._loop = loop
        return self._session

    async def _post(
        self,
        url: str | None = None,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            async with self._client().post(
                url or self._url, json=json_body, data=data, headers={**self._headers, **(headers or {})}
            ) as resp:
                if resp.status >= 300:
                    body = (await resp.text(errors="replace"))[:200].strip()
                    detail = f": {scrub(body, self._secrets)}" if body else ""
                    raise DeliveryError(f"HTTP {resp.status}{detail}")
        except DeliveryError:
            raise
        except TimeoutError:
            raise DeliveryError(f"timed out after {plain(self.timeout)} s") from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise DeliveryError(scrub(f"{type(exc).__name__}: {exc}", self._secrets)) from None

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            with contextlib.suppress(Exception):
                await self._session.close()
        self._session = None
