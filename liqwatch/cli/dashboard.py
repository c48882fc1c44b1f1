"""``liqwatch`` (the dashboard on the configured accounts) and ``liqwatch demo`` (on the simulated
market). Textual loads only here."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from liqwatch.cli.common import fail
from liqwatch.numfmt import typed

if TYPE_CHECKING:
    from liqwatch.tui.app import LiqwatchApp


def run(args: argparse.Namespace) -> int:
    build_app(args).run()
    return 0


def build_app(args: argparse.Namespace) -> LiqwatchApp:
    """The dashboard the command runs. Warnings about the config (a file other users can read)
    are shown on its screen: printed on stderr, the full-screen view would hide them."""
    warnings: list[str] = []
    source = getattr(args, "bus_source", None)
    if source is not None or getattr(args, "bus_groups", None):
        if args.command == "demo":
            fail("--source: not with `demo` (run `liqwatch --source URL`)")
        if source is None:
            fail("--group: only with --source URL (the dashboard on the bus)")
        return bus_app(source, args.bus_groups, args)
    if args.command == "demo":
        if not (args.speed > 0 and math.isfinite(args.speed)):
            fail(f"--speed: must be > 0, got {typed(args.speed)}")
        from liqwatch.feeds.demo import DemoFeed

        feeds: list[Any] = [DemoFeed(seed=args.seed, speed=args.speed)]
        subtitle = "demo market (simulated)"
        alerts = None  # default rules, nothing persisted
    else:
        from liqwatch.config import load_config
        from liqwatch.feeds.live import VenueFeed

        config = load_config(args.config, warn=warnings)
        if not config.accounts:
            fail("accounts: the config has no [[accounts]] (try `liqwatch demo`)")
        feeds = [VenueFeed(account) for account in config.accounts]
        subtitle = ", ".join(a.name for a in config.accounts)

        def alerts() -> Any:
            from liqwatch.alerts.runner import AlertRunner
            from liqwatch.alerts.store import AlertStore

            return AlertRunner(config.alerts, config.channels, store=AlertStore(), accounts=config.accounts)

    from liqwatch.tui.app import LiqwatchApp

    return LiqwatchApp(feeds, subtitle=subtitle, alerts=alerts, warnings=warnings)


def bus_app(url: str, groups: list[str] | None, args: argparse.Namespace | None = None) -> LiqwatchApp:
    """``liqwatch --source URL [--group G ...]``: the dashboard on the bus (issue #22). The URL and
    the streams are checked before the screen is taken (one line and exit 2 otherwise)."""
    import asyncio

    from liqwatch.bus.feed import BusFeed, alert_line, check_source, source_settings
    from liqwatch.core.errors import InputError

    try:
        cfg, checked = source_settings(url, groups, args)
        asyncio.run(check_source(cfg))
    except InputError as exc:
        fail(str(exc))
    from liqwatch.bus.connect import safe_url
    from liqwatch.tui.app import LiqwatchApp
    from liqwatch.tui.widgets.alerts import AlertLine, AlertsPane

    feed = BusFeed(cfg, checked)
    subtitle = f"bus {safe_url(url)} · " + (", ".join(checked) if checked else "every group")
    app = LiqwatchApp([feed], subtitle=subtitle, alert_engine=False)

    def on_alert(record: dict[str, Any]) -> None:
        if app.is_running:
            app.query_one(AlertsPane).add_line(AlertLine(*alert_line(record)))

    feed.on_alert = on_alert
    return app
