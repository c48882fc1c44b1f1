"""Running `liqwatch calc` in-process from tests: its JSON document, its table, or its one-line error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from liqwatch.cli import main


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """``liqwatch calc ARGS --json``: exit 0 and the document."""
    assert main(["calc", *args, "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def run_text(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``liqwatch calc ARGS``: exit 0 and the human output."""
    assert main(["calc", *args]) == 0
    return capsys.readouterr().out


def run_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``liqwatch calc ARGS`` refused: exit 2, nothing on stdout, one line on stderr (returned)."""
    with pytest.raises(SystemExit) as exc:
        main(["calc", *args])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no partial output
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]
