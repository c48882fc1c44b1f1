"""Issue #20 point 15, the rest of the sweep: the what-if lines of calc's human output and every
one-line error that echoes a number write it positionally (``0.00001``, not ``1e-05``; ``nan``
for what is not a number); JSON keeps raw floats."""

from __future__ import annotations

import math
import re

import pytest

from liqwatch.alerts import messages
from liqwatch.core import InputError, PositionSpec, check_position, flat_table, get_venue
from liqwatch.numfmt import typed
from liqwatch.tui.widgets.detail import _signed
from tests.fakes.calc_run import run_error, run_json, run_text

SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")
BTC = ("--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--entry", "95000", "--leverage", "10")


def test_typed_echoes_numbers_as_they_could_be_typed() -> None:
    assert typed(-1e-5) == "-0.00001"
    assert typed(1e-300) == "0." + "0" * 299 + "1"
    assert typed(1e15) == "1000000000000000"
    assert (typed(math.nan), typed(math.inf), typed(-math.inf)) == ("nan", "inf", "-inf")
    assert typed(0.1234567) == "0.1234567"  # not cut to six digits: the number as given


def test_set_leverage_lines_are_positional(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_text(capsys, *BTC, "--size", "1", "--set-leverage", "0.00001")
    assert "Leverage → 0.00001x" in out
    assert not SCIENTIFIC.search(out), out
    doc = run_json(capsys, *BTC, "--size", "1", "--set-leverage", "0.00001")
    assert doc["what_if"]["new_leverage"] == 1e-05  # JSON stays a raw float


def test_target_distance_line_is_positional(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_text(capsys, *BTC, "--size", "1", "--target-distance", "0.00001")
    assert "comes within 0.00001% of the mark" in out
    assert not SCIENTIFIC.search(out), out


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        (("--size", "1", "--add-size", "-0.00001"), "--add-size: must be a finite number >= 0, got -0.00001"),
        (("--size", "1", "--add-size", "-1e-300"), "--add-size: must be a finite number >= 0, got -0.0000000000"),
        (("--size", "nan"), "--size: must be a finite number > 0, got nan"),
        (("--size", "1", "--target-distance", "-1e-7"), "--target-distance: must be > 0, got -0.0000001"),
        (("--size", "1", "--set-leverage", "-0.00001"), "--set-leverage: must be a finite number > 0, got -0.00001"),
        (("--size", "1", "--add-margin", "inf"), "--add-margin: must be a finite number, got inf"),
    ],
)
def test_one_line_errors_echo_numbers_positionally(
    capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], line: str
) -> None:
    error = run_error(capsys, *BTC, *extra)
    assert line in error, error
    assert not SCIENTIFIC.search(error), error


def test_the_core_s_own_refusals_are_positional() -> None:
    venue = get_venue("binance")
    spec = PositionSpec("BTC/USDT:USDT", "long", -0.00001, 95_000.0, 95_000.0, flat_table(0.005, 0.0, 100.0))
    with pytest.raises(InputError) as exc:
        check_position(spec, venue)
    assert exc.value.message == "must be > 0, got -0.00001"


def test_dashboard_and_alert_texts_are_positional() -> None:
    assert _signed(-0.00001234) == "-0.00001234" and _signed(12.5) == "+12.5"
    text = messages.tier_change(("main", "BTC/USDT:USDT", "long"), 1, 2, 0.0000001, 0.000002)
    assert "0.00001% → 0.0002%" in text and not SCIENTIFIC.search(text)
