"""Notifiers (what ``[[channels]]`` entries build): URL redaction, each HTTP format against a
local receiver, secrets kept out of failures, the command and desktop notifiers, building from
config, and apprise as an optional package."""

from __future__ import annotations

import asyncio
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from liqwatch.alerts.channels import (
    CommandNotifier,
    DesktopNotifier,
    DiscordNotifier,
    NtfyNotifier,
    SlackNotifier,
    TelegramNotifier,
    WebhookNotifier,
    redact_url,
    send_test,
)
from liqwatch.alerts.config import ChannelConfig, build_notifiers
from liqwatch.alerts.dispatcher import DeliveryFailure, Dispatcher
from liqwatch.core.errors import InputError
from tests.alerts.builders import make_alert
from tests.fakes.webhook_receiver import Receiver, receiver
from tests.fakes.ws_server import WAIT_TIMEOUT

CHANNEL_LIST = TypeAdapter(list[ChannelConfig])


def test_redact_url() -> None:
    cases = {
        "https://hooks.slack.com/services/T000/B000/XXXXSECRET": "https://hooks.slack.com/***",
        "https://discord.com/api/webhooks/123/tok-en": "https://discord.com/***",
        "https://user:pw@ntfy.example:8443/topic?auth=abc": "https://ntfy.example:8443/***",
        "http://127.0.0.1:9000": "http://127.0.0.1:9000",
        "tgram://123456:ABCDEF/987654": "tgram://***",
        "not a url": "***",
        "http://[::1]:8080/x": "http://[::1]:8080/***",
    }
    for url, shown in cases.items():
        assert redact_url(url) == shown


def test_http_channel_formats() -> None:
    async def main() -> Receiver:
        async with receiver() as rec:
            channels = [
                WebhookNotifier(rec.url + "/hook/SECRET", headers={"X-Token": "hdr-secret"}),
                SlackNotifier(rec.url + "/slack/T/B/X"),
                DiscordNotifier(rec.url + "/discord/1/tok"),
                NtfyNotifier(rec.url + "/my-topic", token="ntfy-token"),
                TelegramNotifier("123:ABC", "42", api_url=rec.url),
            ]
            for channel in channels:
                await channel.send(make_alert(7, "critical"))
                await channel.close()
            return rec

    rec = asyncio.run(main())
    by_path = {path: (body, headers) for path, body, headers in rec.hits}
    hook = json.loads(by_path["/hook/SECRET"][0])
    assert hook["type"] == "alert" and hook["id"] == "t-7" and hook["severity"] == "critical"
    assert by_path["/hook/SECRET"][1]["X-Token"] == "hdr-secret"
    assert json.loads(by_path["/slack/T/B/X"][0]) == {"text": "[CRITICAL] alert 7"}
    assert json.loads(by_path["/discord/1/tok"][0]) == {"content": "[CRITICAL] alert 7"}
    body, headers = by_path["/my-topic"]
    assert body == b"alert 7" and headers["Priority"] == "urgent" and headers["Authorization"] == "Bearer ntfy-token"
    assert headers["Title"] == "liqwatch critical: a BTC/USDT:USDT"
    assert json.loads(by_path["/bot123:ABC/sendMessage"][0]) == {"chat_id": "42", "text": "[CRITICAL] alert 7"}
    for channel in (SlackNotifier(rec.url + "/slack/T/B/X"), TelegramNotifier("123:ABC", "42")):
        assert "T/B/X" not in channel.name and "ABC" not in channel.name


def test_secrets_never_appear_in_failures() -> None:
    failures: list[DeliveryFailure] = []

    async def main() -> list[tuple[str, bool, str]]:
        async with receiver() as rec:
            rec.fail = True
            hook = WebhookNotifier(rec.url + "/hook/SECRET-TOKEN?key=QUERYSECRET")
            dispatcher = Dispatcher([hook], on_failure=failures.append, retry_initial=0.01)
            dispatcher.start()
            dispatcher.submit(make_alert())
            async with asyncio.timeout(WAIT_TIMEOUT):
                while len(failures) < 2:
                    await asyncio.sleep(0.01)
            await dispatcher.stop()
            return await send_test([WebhookNotifier(rec.url + "/hook/SECRET-TOKEN?key=QUERYSECRET")])

    results = asyncio.run(main())
    shown = json.dumps([f.record() for f in failures]) + json.dumps(results)
    assert "HTTP 500" in shown and "SECRET" not in shown and "retrying in 0.01 s" in shown
    assert failures[1].attempt == 2 and failures[1].retry_in == 0.02  # exponential backoff


def test_command_channel_gets_the_alert_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    script = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text(sys.stdin.read())"
    channel = CommandNotifier([sys.executable, "-c", script, str(out)], timeout=10)
    failing = CommandNotifier([sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"])
    slow = CommandNotifier([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.3)
    missing = CommandNotifier([str(tmp_path / "no-such-program")])
    results = asyncio.run(send_test([channel, failing, slow, missing]))
    assert json.loads(out.read_text())["type"] == "alert"
    assert [(ok, detail) for _, ok, detail in results] == [
        (True, "delivered"),
        (False, "exit code 3: boom"),
        (False, "timed out after 0.3 s"),
        (False, "cannot run " + str(tmp_path / "no-such-program") + ": No such file or directory"),
    ]
    assert results[0][0] == "command " + Path(sys.executable).name


def test_desktop_channel_is_a_noop_without_a_service(tmp_path: Path) -> None:
    none = DesktopNotifier(which=lambda _: None)
    assert not none.available
    asyncio.run(none.send(make_alert()))  # graceful no-op
    log = tmp_path / "argv"
    fake = tmp_path / "notify-send"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {log}\n')
    fake.chmod(0o755)
    desktop = DesktopNotifier(which=lambda name: str(fake) if name == "notify-send" else None)
    results = asyncio.run(send_test([none, desktop]))
    assert [ok for _, ok, _ in results] == [False, True]
    assert log.read_text().splitlines()[:4] == ["-a", "liqwatch", "-u", "low"]


def test_build_notifiers_from_toml_and_apprise_is_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    configs = CHANNEL_LIST.validate_python(
        [
            {"type": "webhook", "url_env": "HOOK", "min_severity": "critical"},
            {"type": "slack", "url": "https://hooks.slack.com/services/T/B/X"},
            {"type": "discord", "url": "https://discord.com/api/webhooks/1/tok"},
            {"type": "ntfy", "url": "https://ntfy.sh/topic-secret", "name": "phone"},
            {"type": "telegram", "bot_token_env": "TG", "chat_id": 42},
            {"type": "command", "command": ["notify.sh", "--x"]},
            {"type": "desktop", "enabled": False},
        ]
    )
    channels = build_notifiers(configs, {"HOOK": "https://example.invalid/h/SECRET", "TG": "1:tok"})
    assert [c.name for c in channels] == [
        "webhook https://example.invalid/***",
        "slack https://hooks.slack.com/***",
        "discord https://discord.com/***",
        "ntfy phone",
        "telegram https://api.telegram.org chat ***",
        "command notify.sh",
    ]
    assert channels[0].min_severity == "critical" and not channels[0].accepts(make_alert())
    with pytest.raises(InputError, match=r"channels\[0\]\.url_env: environment variable HOOK is not set"):
        build_notifiers(configs[:1], {})
    for bad in ({"type": "webhook"}, {"type": "webhook", "url": "x", "url_env": "Y"}, {"type": "telegram"}):
        with pytest.raises(ValidationError):
            CHANNEL_LIST.validate_python([bad])
    monkeypatch.setitem(sys.modules, "apprise", None)  # as if not installed
    slack = CHANNEL_LIST.validate_python([{"type": "slack", "url": "slack://tokenA/tokenB/tokenC"}])
    with pytest.raises(InputError) as err:
        build_notifiers(slack)
    message = str(err.value)
    assert "\n" not in message and "apprise" in message and "token" not in message


def test_apprise_channel_with_a_stand_in_module(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []

    class FakeApprise:
        def add(self, url: str) -> bool:
            return url.startswith("tgram://")

        def notify(self, **kw: Any) -> bool:
            sent.append(kw)
            return True

    fake = types.ModuleType("apprise")
    fake.Apprise = FakeApprise  # type: ignore[attr-defined]
    fake.NotifyType = types.SimpleNamespace(INFO="info", WARNING="warning", FAILURE="failure")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "apprise", fake)
    [channel] = build_notifiers(CHANNEL_LIST.validate_python([{"type": "telegram", "url": "tgram://tok/chat"}]))
    assert channel.name == "apprise tgram://***"
    assert asyncio.run(send_test([channel]))[0][1] is True
    assert sent[0]["notify_type"] == "info" and "test alert" in sent[0]["body"]
    with pytest.raises(InputError, match="does not recognise"):
        build_notifiers(CHANNEL_LIST.validate_python([{"type": "apprise", "url": "weird://x"}]))
