"""Notifiers: where alerts are delivered (each ``[[channels]]`` entry builds one; the dashboard
adds a callback). One module per kind over a shared :mod:`.base`: a generic JSON
:mod:`.webhook`, :mod:`.slack`, :mod:`.discord`, :mod:`.ntfy` and :mod:`.telegram` over plain
HTTP(S) (:mod:`.http`), any :mod:`.apprise` URL (optional package), a :mod:`.command` receiving
the alert JSON on stdin, :mod:`.desktop` notifications, and a :mod:`.callback`. :mod:`.probe`
sends ``liqwatch alerts test``'s test alert."""

from __future__ import annotations

from liqwatch.alerts.channels.apprise import APPRISE_HINT, APPRISE_SCHEMES, AppriseNotifier, load_apprise
from liqwatch.alerts.channels.base import (
    DEFAULT_TIMEOUT,
    DeliveryError,
    Notifier,
    NotifierError,
    chat_text,
    redact_url,
    scrub,
)
from liqwatch.alerts.channels.callback import CallbackNotifier
from liqwatch.alerts.channels.command import CommandNotifier
from liqwatch.alerts.channels.desktop import DesktopNotifier
from liqwatch.alerts.channels.discord import DiscordNotifier
from liqwatch.alerts.channels.http import HttpNotifier
from liqwatch.alerts.channels.ntfy import NtfyNotifier
from liqwatch.alerts.channels.probe import make_test_alert, send_test
from liqwatch.alerts.channels.slack import SlackNotifier
from liqwatch.alerts.channels.telegram import TelegramNotifier
from liqwatch.alerts.channels.webhook import WebhookNotifier

__all__ = [
    "APPRISE_HINT",
    "APPRISE_SCHEMES",
    "DEFAULT_TIMEOUT",
    "AppriseNotifier",
    "CallbackNotifier",
    "CommandNotifier",
    "DeliveryError",
    "DesktopNotifier",
    "DiscordNotifier",
    "HttpNotifier",
    "Notifier",
    "NotifierError",
    "NtfyNotifier",
    "SlackNotifier",
    "TelegramNotifier",
    "WebhookNotifier",
    "chat_text",
    "load_apprise",
    "make_test_alert",
    "redact_url",
    "scrub",
    "send_test",
]
