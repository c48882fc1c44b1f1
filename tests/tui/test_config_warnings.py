"""Issue #20, point 16: a warning about the config (a file other users can read) is shown on the
dashboard's screen, not printed on stderr where the full-screen view hides it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from liqwatch.cli import build_parser
from liqwatch.cli.dashboard import build_app
from liqwatch.tui.widgets.alerts import AlertsPane
from tests.tui.test_tui import until


def test_a_config_others_can_read_is_warned_about_on_screen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[[accounts]]\nname = "main"\nexchange = "binance"\napi_key_env = "LW_KEY"\n'
        'api_secret_env = "LW_SECRET"\nrest_url = "http://127.0.0.1:9"\n'
    )
    config.chmod(0o644)
    app = build_app(build_parser().parse_args(["--config", str(config)]))
    app.autostart = False  # no feed connects: the warning is what is looked at
    assert capsys.readouterr().err == ""  # nothing behind the full-screen view

    async def go() -> None:
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            expected = f"{config} is readable by other users; chmod 600 it"
            await until(pilot, lambda: any(n.message == expected for n in app._notifications))
            (note,) = [n for n in app._notifications if n.message == expected]
            assert note.title == "config" and note.severity == "warning"
            pane = app.query_one(AlertsPane)
            await until(pilot, lambda: pane.scrollable_content_region.width > 0)
            lines = pane.plain_lines(200)
            assert any(f"WARNING  config: {expected}" in line for line in lines), lines

    asyncio.run(go())
    assert capsys.readouterr().err == ""


def test_a_private_config_says_nothing(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[accounts]]\nname = "main"\nexchange = "binance"\napi_key_env = "K"\napi_secret_env = "S"\n')
    config.chmod(0o600)
    assert build_app(build_parser().parse_args(["--config", str(config)])).warnings == ()
