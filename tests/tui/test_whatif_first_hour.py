"""Issue #20 on the dashboard's what-if screen (points 7, 11 and 15, as calc does them): the
largest size is shown rounded down (typed back in, it is allowed), the shock field takes ``%``, a
price far from the mark is warned about with calc's words, and no number is in scientific
notation."""

from __future__ import annotations

import re

from liqwatch.core import get_venue
from liqwatch.core import whatif as wi
from liqwatch.core.model import PositionSpec
from liqwatch.core.venues import Venue
from liqwatch.request import PositionRequest, build_spec
from liqwatch.scenarios import SCENARIOS, Context, far_price_warning
from liqwatch.tui.screens.whatif import evaluate
from tests.tui.test_tui import plain_text

SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")


def btc(entry: float, leverage: float = 10.0, symbol: str = "BTCUSDT", size: float = 1.0) -> tuple[Venue, PositionSpec]:
    venue = get_venue("binance")
    return venue, build_spec(venue, PositionRequest(symbol, "long", size, entry, leverage=leverage))


def screen(venue: Venue, spec: PositionSpec, **fields: str) -> str:
    values = {key.replace("_", "-"): value for key, value in fields.items()}
    return plain_text(evaluate(venue, [spec], 1_000.0, 0, values))


def test_the_largest_size_shown_is_allowed_when_typed_back() -> None:
    """At entry 95,014 and 10x the largest add is 2,419.69589744... BTC: six digits to nearest give
    2,419.70, which lands on the bracket where 10x is refused."""
    venue, spec = btc(95_014.0)
    largest = wi.add_size(venue, [spec], 1_000.0, 0, 0.0).max_add_size
    assert largest is not None and not wi.add_size(venue, [spec], 1_000.0, 0, round(largest, 2)).allowed
    text = screen(venue, spec, add_size="0")
    shown = re.search(r"max size that still fits the bracket's max leverage: ([\d,.]+) BTC", text)
    assert shown is not None, text
    typed = shown.group(1).replace(",", "")
    assert float(typed) <= largest and typed.startswith("2419.69")
    again = screen(venue, spec, add_size=typed)
    assert "NOT ALLOWED" not in again, again
    assert wi.add_size(venue, [spec], 1_000.0, 0, float(typed)).allowed


def test_the_shock_field_takes_a_percent_sign() -> None:
    venue, spec = btc(60_000.0)
    bare = screen(venue, spec, shock="-10")
    assert "not a number" not in bare and "all marks -10%" in bare
    for typed in ("-10%", "-10 %", " -10% "):
        assert screen(venue, spec, shock=typed) == bare


def test_a_price_far_from_the_mark_is_warned_about_with_calc_s_words() -> None:
    venue = get_venue("binance")
    spec = build_spec(venue, PositionRequest("DOGEUSDT", "long", 1_000.0, 0.6, leverage=5.0))
    text = screen(venue, spec, add_size="100", add_price="60000")
    ctx = Context(venue, [spec], 1_000.0, 0)
    expected = far_price_warning(ctx, "at price", 60_000.0, 0.6)
    assert "+9,999,900 % from the mark 0.6" in expected
    assert expected in " ".join(text.split()), text
    near = screen(venue, spec, add_size="100", add_price="0.61")
    assert "from the mark" not in near
    # the same check as calc: the scenario's price parameters
    assert SCENARIOS["add_size"].prices == ("add_price",)


def test_no_scientific_notation_on_the_screen() -> None:
    venue, spec = btc(60_000.0)
    for fields in ({"leverage": "0.00001"}, {"shock": "-0.00001"}, {"shock": "0.000001%"}):
        text = screen(venue, spec, **fields)
        assert not SCIENTIFIC.search(text), (fields, text)
    assert "leverage → 0.00001x" in " ".join(screen(venue, spec, leverage="0.00001").split())
