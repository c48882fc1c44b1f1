"""Alert delivery that never blocks the monitor.

:class:`Dispatcher` keeps one bounded queue and one worker task per channel. ``submit`` only
appends to the queues; each worker sends its queue in order, retrying a failed send with
exponential backoff (the alert stays at the head of its queue: delayed, never lost), and reports
each failure through a callback. Delivery is idempotent per channel: an alert id delivered once is
never sent to that channel again. (A send that timed out on our side may still have arrived: the
alert ``id`` lets a receiver drop such a repeat.)

Channels: a generic JSON webhook (the alert record as the body), Slack / Discord incoming webhooks
and ntfy topics over plain HTTP, Telegram's bot API, any `apprise <https://github.com/caronc/apprise>`_
URL when apprise is installed (optional; imported lazily), a command receiving the alert as JSON on
stdin, desktop notifications (``notify-send`` / ``osascript``; a no-op where neither exists), and a
callback (the TUI's toast, bell and alerts pane).

Secrets: channel URLs carry tokens in their paths and queries. Every name, message and error this
module produces shows a URL only through :func:`redact_url`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import inspect
import json
import shutil
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from liqwatch.alerts.rules import SEVERITY_RANK, Alert, Severity

DEFAULT_TIMEOUT = 10.0
QUEUE_SIZE = 100
DELIVERED_MEMORY = 10_000
"""Alert ids remembered per channel for idempotency."""
APPRISE_SCHEMES = ("tgram", "discord", "slack", "ntfy", "ntfys", "pover", "mailto", "mailtos")
APPRISE_HINT = "install apprise (pip install apprise) or use the plain https webhook URL"


class ChannelError(ValueError):
    """A channel that cannot be built (one line, secrets redacted)."""


class DeliveryError(Exception):
    """A send that failed. The message is already redacted; ``retry`` False drops the alert for
    this channel after reporting (desktop and callback failures: retrying cannot help)."""

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


def _secrets_of(url: str) -> list[str]:
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


# ---------------------------------------------------------------------- channels


class Channel:
    """A destination. ``name`` is safe to show; ``key`` identifies the channel across restarts
    (a digest of its configuration, secrets included, never reversible)."""

    kind = "channel"

    def __init__(
        self, name: str, *, min_severity: Severity = "info", timeout: float = DEFAULT_TIMEOUT, key: str = ""
    ) -> None:
        self.name = name
        self.min_severity: Severity = min_severity
        self.timeout = timeout
        self.key = key or _digest(self.kind, name)

    def accepts(self, alert: Alert) -> bool:
        return SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[self.min_severity]

    @property
    def available(self) -> bool:
        """False where the channel is a no-op here (desktop without a notification service)."""
        return True

    async def send(self, alert: Alert) -> None:
        """Deliver ``alert``; raise :class:`DeliveryError` (redacted) on failure."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release what :meth:`send` opened (the channel may send again afterwards)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def chat_text(alert: Alert) -> str:
    return f"[{alert.severity.upper()}] {alert.message}"


class _HttpChannel(Channel):
    """A channel that POSTs to one URL (its secrets never leave this object)."""

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
            raise ChannelError(f"{self.kind}: expected an http(s) URL, got {redact_url(url)}")
        super().__init__(
            f"{self.kind} {label or redact_url(url)}",
            min_severity=min_severity,
            timeout=timeout,
            key=_digest(self.kind, url, json.dumps(dict(headers or {}), sort_keys=True)),
        )
        self._url = url.strip()
        self._headers = dict(headers or {})
        self._secrets = _secrets_of(url) + [v for v in self._headers.values() if len(v) >= 4]
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
            raise DeliveryError(f"timed out after {self.timeout:g} s") from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise DeliveryError(scrub(f"{type(exc).__name__}: {exc}", self._secrets)) from None

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            with contextlib.suppress(Exception):
                await self._session.close()
        self._session = None


class WebhookChannel(_HttpChannel):
    """A generic JSON webhook: POSTs the alert record (``{"type": "alert", "id", ...}``)."""

    kind = "webhook"

    async def send(self, alert: Alert) -> None:
        await self._post(json_body=alert.record())


class SlackChannel(_HttpChannel):
    """A Slack incoming webhook: ``{"text": ...}``."""

    kind = "slack"

    async def send(self, alert: Alert) -> None:
        await self._post(json_body={"text": chat_text(alert)})


class DiscordChannel(_HttpChannel):
    """A Discord webhook: ``{"content": ...}`` (at most 2000 characters)."""

    kind = "discord"

    async def send(self, alert: Alert) -> None:
        await self._post(json_body={"content": chat_text(alert)[:2000]})


NTFY_PRIORITY = {"info": "default", "warning": "high", "critical": "urgent"}
NTFY_TAGS = {"info": "information_source", "warning": "warning", "critical": "rotating_light"}


class NtfyChannel(_HttpChannel):
    """An ntfy topic URL (``https://ntfy.sh/<topic>``): the message as the body, with ``Title``,
    ``Priority`` and ``Tags`` headers; ``token`` adds a bearer token."""

    kind = "ntfy"

    def __init__(self, url: str, *, token: str | None = None, **kw: Any) -> None:
        headers = dict(kw.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        super().__init__(url, headers=headers, **kw)

    async def send(self, alert: Alert) -> None:
        headers = {
            "Title": alert.title.encode("ascii", "replace").decode(),
            "Priority": NTFY_PRIORITY[alert.severity],
            "Tags": NTFY_TAGS[alert.severity],
        }
        await self._post(data=alert.message.encode(), headers=headers)


class TelegramChannel(_HttpChannel):
    """Telegram's bot API: ``POST {api_url}/bot<token>/sendMessage {chat_id, text}``."""

    kind = "telegram"

    def __init__(
        self,
        bot_token: str,
        chat_id: str,
        *,
        api_url: str = "https://api.telegram.org",
        label: str | None = None,
        **kw: Any,
    ) -> None:
        url = f"{api_url.rstrip('/')}/bot{bot_token}/sendMessage"
        super().__init__(url, label=label or f"{redact_url(api_url)} chat ***", **kw)
        self._secrets.append(bot_token)
        self._chat_id = chat_id

    async def send(self, alert: Alert) -> None:
        await self._post(json_body={"chat_id": self._chat_id, "text": chat_text(alert)[:4096]})


def load_apprise() -> ModuleType:
    """The apprise module, or a one-line :class:`ChannelError` saying how to get it."""
    try:
        return importlib.import_module("apprise")
    except ImportError:
        raise ChannelError(f"apprise URLs need the apprise package: {APPRISE_HINT}") from None


class AppriseChannel(Channel):
    """Any apprise URL (``tgram://``, ``discord://``, ``slack://``, ``ntfys://``, ``pover://``...)."""

    kind = "apprise"

    def __init__(self, url: str, *, min_severity: Severity = "info", timeout: float = DEFAULT_TIMEOUT) -> None:
        self._module = load_apprise()
        self._apprise = self._module.Apprise()
        if not self._apprise.add(url.strip()):
            raise ChannelError(f"apprise does not recognise the URL {redact_url(url)}")
        super().__init__(
            f"apprise {redact_url(url)}", min_severity=min_severity, timeout=timeout, key=_digest("apprise", url)
        )
        self._secrets = _secrets_of(url)

    async def send(self, alert: Alert) -> None:
        types = self._module.NotifyType
        notify_type = {"info": types.INFO, "warning": types.WARNING, "critical": types.FAILURE}[alert.severity]
        try:
            ok = await asyncio.to_thread(
                self._apprise.notify, body=alert.message, title=alert.title, notify_type=notify_type
            )
        except Exception as exc:  # apprise plugins raise what their HTTP clients raise
            raise DeliveryError(scrub(f"{type(exc).__name__}: {exc}", self._secrets)) from None
        if not ok:
            raise DeliveryError("apprise reported a failed notification")


class CommandChannel(Channel):
    """Runs ``command`` (no shell) with the alert record as JSON on stdin; a non-zero exit or
    exceeding ``timeout`` is a failure."""

    kind = "command"

    def __init__(
        self, command: Sequence[str], *, min_severity: Severity = "info", timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        if not command or not command[0]:
            raise ChannelError("command: give the program and its arguments as a list, e.g. command = ['notify.sh']")
        self.command = list(command)
        super().__init__(
            f"command {Path(self.command[0]).name}",
            min_severity=min_severity,
            timeout=timeout,
            key=_digest("command", *self.command),
        )

    async def send(self, alert: Alert) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise DeliveryError(f"cannot run {self.command[0]}: {exc.strerror or type(exc).__name__}") from None
        payload = (json.dumps(alert.record(), allow_nan=False) + "\n").encode()
        try:
            _, err = await asyncio.wait_for(proc.communicate(payload), self.timeout)
        except TimeoutError:
            raise DeliveryError(f"timed out after {self.timeout:g} s") from None
        finally:
            if proc.returncode is None:  # timed out or cancelled: no orphans
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(Exception):
                    await proc.wait()
        if proc.returncode != 0:
            last = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
            detail = f": {last[0][:200]}" if last else ""
            raise DeliveryError(f"exit code {proc.returncode}{detail}")


DESKTOP_URGENCY = {"info": "low", "warning": "normal", "critical": "critical"}
_OSASCRIPT = (
    "on run argv",
    "display notification (item 2 of argv) with title (item 1 of argv)",
    "end run",
)


class DesktopChannel(Channel):
    """A desktop notification via ``notify-send`` (Linux/BSD) or ``osascript`` (macOS); a no-op
    where neither exists. Failures are reported once per alert, not retried."""

    kind = "desktop"

    def __init__(
        self,
        *,
        min_severity: Severity = "info",
        timeout: float = 5.0,
        which: Callable[[str], str | None] = shutil.which,
    ) -> None:
        super().__init__("desktop", min_severity=min_severity, timeout=timeout, key=_digest("desktop"))
        self._notify_send = which("notify-send")
        self._osascript = which("osascript") if sys.platform == "darwin" else None

    @property
    def available(self) -> bool:
        return bool(self._notify_send or self._osascript)

    def argv(self, alert: Alert) -> list[str] | None:
        if self._notify_send:
            return [
                self._notify_send,
                "-a",
                "liqwatch",
                "-u",
                DESKTOP_URGENCY[alert.severity],
                alert.title,
                alert.message,
            ]
        if self._osascript:
            script = [arg for line in _OSASCRIPT for arg in ("-e", line)]
            return [self._osascript, *script, alert.title, alert.message]
        return None

    async def send(self, alert: Alert) -> None:
        argv = self.argv(alert)
        if argv is None:
            return  # no notification service here: graceful no-op
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
            )
            _, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            raise DeliveryError(f"timed out after {self.timeout:g} s", retry=False) from None
        except OSError as exc:
            raise DeliveryError(f"cannot run {Path(argv[0]).name}: {exc.strerror}", retry=False) from None
        if proc.returncode != 0:
            last = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
            raise DeliveryError(f"{Path(argv[0]).name} failed" + (f": {last[0][:200]}" if last else ""), retry=False)


class CallbackChannel(Channel):
    """Calls ``fn(alert)`` (a function or a coroutine function): the TUI's toast, bell and pane."""

    kind = "callback"

    def __init__(
        self, fn: Callable[[Alert], Awaitable[None] | None], name: str = "tui", *, min_severity: Severity = "info"
    ) -> None:
        super().__init__(name, min_severity=min_severity, key=_digest("callback", name))
        self._fn = fn

    async def send(self, alert: Alert) -> None:
        try:
            result = self._fn(alert)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retry=False) from None


# ---------------------------------------------------------------------- dispatcher


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """One failed send (or a dropped alert: ``retry_in`` None)."""

    ts: float
    channel: str
    alert_id: str
    attempt: int
    error: str
    retry_in: float | None

    def record(self) -> dict[str, Any]:
        """An event line for ``liqwatch watch``."""
        then = f"; retrying in {self.retry_in:g} s" if self.retry_in is not None else "; dropped"
        return {
            "type": "event",
            "ts": self.ts,
            "kind": "alert_delivery_failed",
            "channel": self.channel,
            "alert_id": self.alert_id,
            "attempt": self.attempt,
            "detail": f"{self.error}{then}",
        }


class _Lane:
    __slots__ = ("channel", "delivered", "idle", "ids", "queue", "task", "wake")

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.queue: deque[Alert] = deque()
        self.ids: set[str] = set()
        self.delivered: OrderedDict[str, None] = OrderedDict()
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task: asyncio.Task[None] | None = None


class Dispatcher:
    """Delivers alerts to channels without ever blocking the caller.

    ``submit(alert)`` queues the alert for every channel that accepts its severity and returns at
    once. ``on_delivered(channel_name, alert)`` runs after each successful send (call the engine's
    ``mark_delivered`` there); ``on_failure(DeliveryFailure)`` after each failed one. A full queue
    (``queue_size``) drops its oldest least-severe waiting alert, reported as a failure."""

    def __init__(
        self,
        channels: Sequence[Channel],
        *,
        queue_size: int = QUEUE_SIZE,
        on_delivered: Callable[[str, Alert], None] | None = None,
        on_failure: Callable[[DeliveryFailure], None] | None = None,
        retry_initial: float = 1.0,
        retry_max: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1")
        self.lanes: list[_Lane] = []
        keys: set[str] = set()
        for channel in channels:
            base, n = channel.key, 1
            while channel.key in keys:
                n += 1
                channel.key = f"{base}#{n}"
            keys.add(channel.key)
            self.lanes.append(_Lane(channel))
        self.queue_size = queue_size
        self.on_delivered = on_delivered
        self.on_failure = on_failure
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.clock = clock
        self.version = 0
        """Incremented whenever :meth:`outbox` changes (for :meth:`AlertStore.sync`)."""

    @property
    def channels(self) -> list[Channel]:
        return [lane.channel for lane in self.lanes]

    def start(self) -> None:
        """Start one worker per channel (inside a running event loop)."""
        for lane in self.lanes:
            if lane.task is None or lane.task.done():
                lane.task = asyncio.create_task(self._work(lane), name=f"alerts:{lane.channel.name}")

    async def stop(self, timeout: float = 0.0) -> None:
        """Wait up to ``timeout`` seconds for the queues to empty, then stop the workers and close
        the channels. What is still queued stays in :meth:`outbox` (save it)."""
        if timeout > 0:
            await self.drain(timeout)
        tasks = [lane.task for lane in self.lanes if lane.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for lane in self.lanes:
            lane.task = None
            await lane.channel.close()

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queue is empty; False if ``timeout`` passed first."""
        try:
            await asyncio.wait_for(asyncio.gather(*(lane.idle.wait() for lane in self.lanes)), timeout)
        except TimeoutError:
            return False
        return True

    def submit(self, alert: Alert) -> None:
        """Queue ``alert`` for every channel that accepts it. Never blocks, never raises."""
        for lane in self.lanes:
            if lane.channel.accepts(alert):
                self._enqueue(lane, alert)

    def outbox(self) -> dict[str, list[dict[str, Any]]]:
        """Undelivered alerts per channel key (in flight included), for persistence."""
        return {lane.channel.key: [a.model_dump() for a in lane.queue] for lane in self.lanes if lane.queue}

    def restore(self, outbox: Mapping[str, Any]) -> int:
        """Re-queue what :meth:`outbox` saved before a restart; returns how many were queued.
        Entries for channels no longer configured, or unreadable, are skipped."""
        count = 0
        for lane in self.lanes:
            records = outbox.get(lane.channel.key)
            if not isinstance(records, list):
                continue
            for record in records:
                try:
                    alert = Alert.model_validate(record)
                except ValueError:
                    continue
                count += self._enqueue(lane, alert)
        return count

    def pending(self) -> int:
        return sum(len(lane.queue) for lane in self.lanes)

    # ------------------------------------------------------------------ workers

    def _enqueue(self, lane: _Lane, alert: Alert) -> bool:
        if alert.id in lane.ids or alert.id in lane.delivered:
            return False  # idempotent: queued or delivered already
        if len(lane.queue) >= self.queue_size:
            waiting = [*list(lane.queue)[1:], alert]  # never the head: it may be in flight
            victim = min(waiting, key=lambda a: SEVERITY_RANK[a.severity])
            self._report(lane, victim, 0, "queue full", None)
            if victim is alert:
                return False
            lane.queue.remove(victim)
            lane.ids.discard(victim.id)
        lane.queue.append(alert)
        lane.ids.add(alert.id)
        lane.idle.clear()
        lane.wake.set()
        self.version += 1
        return True

    def _report(self, lane: _Lane, alert: Alert, attempt: int, error: str, retry_in: float | None) -> None:
        if self.on_failure is None:
            return
        failure = DeliveryFailure(self.clock(), lane.channel.name, alert.id, attempt, error, retry_in)
        with contextlib.suppress(Exception):
            self.on_failure(failure)

    async def _work(self, lane: _Lane) -> None:
        channel = lane.channel
        while True:
            if not lane.queue:
                lane.idle.set()
                lane.wake.clear()
                await lane.wake.wait()
                continue
            alert = lane.queue[0]
            attempt = 0
            while alert.id not in lane.delivered:
                try:
                    await asyncio.wait_for(channel.send(alert), channel.timeout + 1.0)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    attempt += 1
                    if isinstance(exc, DeliveryError):
                        error, retry = str(exc), exc.retry
                    elif isinstance(exc, TimeoutError):
                        error, retry = f"timed out after {channel.timeout:g} s", True
                    else:  # a bug in a channel: report its type only (the message may hold a URL)
                        error, retry = f"unexpected {type(exc).__name__}", True
                    if not retry:
                        self._report(lane, alert, attempt, error, None)
                        break
                    delay = min(self.retry_max, self.retry_initial * 2 ** (attempt - 1))
                    self._report(lane, alert, attempt, error, delay)
                    await asyncio.sleep(delay)
                    continue
                lane.delivered[alert.id] = None
                while len(lane.delivered) > DELIVERED_MEMORY:
                    lane.delivered.popitem(last=False)
                if self.on_delivered is not None:
                    with contextlib.suppress(Exception):
                        self.on_delivered(channel.name, alert)
            if lane.queue and lane.queue[0] is alert:
                lane.queue.popleft()
                lane.ids.discard(alert.id)
                self.version += 1


# ---------------------------------------------------------------------- `liqwatch alerts test`


def make_test_alert(now: float | None = None) -> Alert:
    ts = time.time() if now is None else now
    return Alert(
        id=f"test-{int(ts * 1000)}",
        ts=ts,
        account="liqwatch",
        rule="test",
        level="test",
        message="liqwatch test alert: this channel works",
        severity="info",
    )


async def send_test(channels: Sequence[Channel], alert: Alert | None = None) -> list[tuple[str, bool, str]]:
    """Send one test alert to every channel at once (severity filters ignored); returns
    ``(channel name, ok, detail)`` per channel, in order. Closes the channels afterwards."""
    probe = alert or make_test_alert()

    async def one(channel: Channel) -> tuple[str, bool, str]:
        if not channel.available:
            return channel.name, False, "no notification service found here (skipped)"
        try:
            await asyncio.wait_for(channel.send(probe), channel.timeout + 1.0)
        except DeliveryError as exc:
            return channel.name, False, str(exc)
        except TimeoutError:
            return channel.name, False, f"timed out after {channel.timeout:g} s"
        except Exception as exc:
            return channel.name, False, f"unexpected {type(exc).__name__}"
        return channel.name, True, "delivered"

    try:
        return list(await asyncio.gather(*(one(c) for c in channels)))
    finally:
        for channel in channels:
            await channel.close()
