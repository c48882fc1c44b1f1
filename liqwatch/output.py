"""Presenting risk: writing the JSON document of ``liqwatch calc --json`` (its records are built in
:mod:`liqwatch.records`) and the human table.

Numbers in JSON are raw floats (never rounded); the human table rounds prices to the market's tick.
The table is drawn here without rich: `liqwatch calc` must start about as fast as ``import
pydantic``, and importing rich.console alone takes that long.
"""

from __future__ import annotations

import math
import os
import sys
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from liqwatch.core.model import AccountRisk, PortfolioRisk, PositionRisk, PositionSpec
from liqwatch.core.venues import Venue
from liqwatch.numfmt import fixed, plain, plain_down
from liqwatch.records import (
    LossFunding,
    contracts_of,
    has_negative_zero,
    next_tier_info,
    portfolio_record,
    portfolio_shell,
    position_record,
    settle_currency,
    unsigned_zeros,
)

if TYPE_CHECKING:
    from liqwatch.records import RecordExtras


def to_json(doc: object) -> str:
    """One JSON document on one line. orjson: 10-20x faster than the json module on large
    portfolios (10,000 positions: ~15 ms against ~200 ms); it writes null for a NaN or an infinity
    (which ``records.num`` already maps to None where the core can produce one)."""
    import orjson

    return orjson.dumps(doc).decode()


position_dict = position_record
"""The ``calc --json`` record of one position (built in :mod:`liqwatch.records`)."""
portfolio_dict = portfolio_record
"""The whole ``calc --json`` document (built in :mod:`liqwatch.records`)."""


SMALL_DOCUMENT = 100
"""Documents with at most this many positions are written by the json module: importing orjson
(which imports uuid and platform) costs more than it saves on one position, and `liqwatch calc`'s
cold start is budgeted."""


def write_json(doc: object, stream: TextIO) -> None:
    """One JSON document and a newline on ``stream``. A large one (a portfolio of thousands of
    positions) goes through orjson, as bytes where the stream has a buffer (megabytes: no decode
    and re-encode); a small one through the json module. NaN and the infinities never reach either
    (the records map them to null). Neither does -0.0: the record builders write the fields that
    can hold it as ``x + 0.0``, and a small document is scanned for one besides (microseconds; a
    scan of a large one's megabytes would cost half as much again as writing them)."""
    positions = doc.get("positions") if isinstance(doc, dict) else None
    if not isinstance(positions, list) or len(positions) <= SMALL_DOCUMENT:
        import json

        text = json.dumps(doc, allow_nan=False)
        if has_negative_zero(text):  # never -0.0 in JSON
            text = json.dumps(unsigned_zeros(doc), allow_nan=False)
        stream.write(text + "\n")
        return
    import orjson

    write_line(stream, orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE))


def write_line(stream: TextIO, data: bytes) -> None:
    """``data`` (UTF-8 text ending in a newline) on ``stream``: as bytes where the stream has a
    buffer (megabytes of JSON need no decode and re-encode; the text layer is flushed first, so
    nothing is written out of order), else as text; flushed either way."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(data.decode())
        stream.flush()
        return
    stream.flush()
    buffer.write(data)
    buffer.flush()


STREAM_CHUNK = 100
"""Positions per piece when a large ``calc --json`` document is streamed (:func:`write_portfolio`):
a piece's records (~250 KB) are still in the CPU's cache when orjson reads them (10,000 positions:
~64 ms in pieces of 100 against ~68 ms in pieces of 500 and ~76 ms in pieces of 1,000)."""


def write_portfolio(risk: PortfolioRisk, venue: Venue, stream: TextIO, extras: RecordExtras | None = None) -> None:
    """The ``calc --json`` document of ``risk`` (``records.portfolio_record``) and a newline on
    ``stream``, byte for byte as :func:`write_json` writes it. A large one is built and written a
    piece of :data:`STREAM_CHUNK` positions at a time: the records of 10,000 positions and their
    JSON at once are ~40 MB that the process must first be given page by page (a tenth of the
    run), while piece by piece the same memory serves every piece."""
    positions = risk.positions
    buffer = getattr(stream, "buffer", None)
    if len(positions) <= SMALL_DOCUMENT or buffer is None:
        write_json(portfolio_record(risk, venue, extras=extras), stream)
        return
    import orjson

    # Every key but the positions, in the document's order, as the one record builder writes them.
    shell = orjson.dumps(portfolio_shell(risk, venue), option=orjson.OPT_APPEND_NEWLINE)
    head, key, tail = shell.partition(b'"positions":[]')
    if not key or key in tail:  # not the expected shape: write it whole
        write_json(portfolio_record(risk, venue, extras=extras), stream)
        return
    loss_funding = LossFunding(risk, venue, extras)
    stream.flush()
    buffer.write(head + b'"positions":[')
    for start in range(0, len(positions), STREAM_CHUNK):
        docs = [position_record(p, venue) for p in positions[start : start + STREAM_CHUNK]]
        loss_funding.add(docs, start)
        piece = orjson.dumps(docs)
        if start:
            buffer.write(b",")
        buffer.write(memoryview(piece)[1:-1])  # without its brackets, and without copying a megabyte
    buffer.write(b"]" + tail)
    buffer.flush()


# ---------------------------------------------------------------- human output


def fmt_price(x: float | None, tick: float | None) -> str:
    """Round to the market's tick for display; 6 significant digits when the tick is unknown."""
    if x is None:
        return "—"
    if tick:
        decimals = max(0, -math.floor(math.log10(tick) + 1e-9))
        return f"{round(x / tick) * tick:,.{decimals}f}"
    if x == 0:
        return "0"
    digits = max(0, 5 - math.floor(math.log10(abs(x))))
    return f"{x:,.{digits}f}"


def display_tick(spec: PositionSpec) -> float:
    """The market's tick, or (unknown tick) a step giving six significant digits at the mark, so
    that every price of one position shows the same number of decimals."""
    if spec.tick_size:
        return spec.tick_size
    return 10.0 ** (math.floor(math.log10(spec.mark_price)) - 5)


def fmt_pct(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{fixed(x * 100, digits, grouping=False)}%"


def fmt_money(x: float | None) -> str:
    return "—" if x is None else fixed(x)


_CENTS = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD", "USDE", "DAI", "TUSD"})
"""Currencies shown to the cent; every other (a coin) to eight decimals, trailing zeros dropped."""


def fmt_amount(x: float | None, currency: str, *, short: bool = False) -> str:
    """An amount with its currency: ``1,234.50 USDT``, ``0.0016 BTC``; "—" for None. ``short``
    (narrow table columns): a coin amount to six significant digits."""
    if x is None:
        return "—"
    if currency in _CENTS:
        return f"{fixed(x)} {currency}"
    return f"{plain(x, 6 if short else 17, max_decimals=8)} {currency}"


def fmt_size(spec: PositionSpec) -> str:
    """A position's size with its unit: base units (``0.5 BTC``) or, coin-margined, the USD face
    value with its contracts (``60,000 USD (600 contracts)``)."""
    if spec.inverse:
        text = f"{plain(spec.size, 10)} USD"
        contracts = contracts_of(spec)
        if contracts is not None:
            text += f" ({plain(contracts, 10)} contracts)"
        return text
    return f"{plain(spec.size, 10)} {spec.symbol.partition('/')[0]}"


def fmt_largest_size(spec: PositionSpec, size: float) -> str:
    """A "largest size that can be added" answer with its unit (base units, or coin-margined the
    USD face value and its contracts), its digits rounded down: the number as shown, typed back
    into ``--add-size`` or the dashboard's add-size field, is still allowed. Calc and the
    dashboard's what-if both show it this way."""
    if spec.inverse:
        text = f"{plain_down(size)} USD"
        if spec.contract_size:
            text += f" ({plain_down(size / spec.contract_size)} contracts)"
        return text
    return f"{plain_down(size)} {spec.symbol.partition('/')[0]}"


def adl_lights(lights: int, source: str) -> str:
    bar = "●" * lights + "○" * (5 - lights)
    return bar if source == "exchange" else f"{bar} est."


# ANSI styles by risk band (and two plain styles); applied only on a colour terminal (NO_COLOR and TERM=dumb respected).
_STYLES = {
    "safe": "32",  # green
    "watch": "33",  # yellow
    "danger": "31",  # red
    "critical": "1;31",  # bold red
    "liquidating": "1;37;41",  # bold white on red
    "dim": "2",
    "bold": "1",
}


def risk_style(ratio: float | None, status: str) -> str:
    """The table style of a margin ratio: its risk band (:data:`liqwatch.core.bands.BANDS`)."""
    from liqwatch.core.bands import BANDS  # only the table needs it: not on calc --json's start

    return BANDS.band(ratio, status)


class _Term:
    """Just enough terminal handling for a table: width and optional colour, no dependencies
    (rich's import alone costs as much as the whole calculation budget of `liqwatch calc`)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        isatty = getattr(stream, "isatty", lambda: False)()
        forced = bool(os.environ.get("LIQWATCH_FORCE_COLOR"))
        self.color = (isatty or forced) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        cols = os.environ.get("COLUMNS", "")
        if cols.isdigit() and int(cols) > 0:
            self.width = int(cols)
        else:
            try:
                self.width = os.get_terminal_size(stream.fileno()).columns if isatty else 80
            except (OSError, ValueError, AttributeError):
                self.width = 80

    def paint(self, text: str, style: str | None) -> str:
        """Colour the visible text; padding stays outside the escape codes."""
        core = text.strip(" ")
        if not self.color or not style or not core:
            return text
        lead = len(text) - len(text.lstrip(" "))
        trail = len(text) - len(text.rstrip(" "))
        return f"{' ' * lead}\x1b[{_STYLES[style]}m{core}\x1b[0m{' ' * trail}"

    def line(self, text: str = "", style: str | None = None) -> None:
        self.stream.write(self.paint(text, style) + "\n")


def cell_len(text: str) -> int:
    """The terminal cells ``text`` takes: 2 for a wide character (East Asian Wide or Fullwidth:
    ``我踏马来了``), 0 for a combining mark or a format character, else 1. ``unicodedata`` is
    imported only for text that is not ASCII (rich.cells would cost `liqwatch calc` ~25 ms)."""
    if text.isascii():
        return len(text)
    from unicodedata import category, east_asian_width

    cells = 0
    for ch in text:
        if ch.isascii():
            cells += 1
        elif category(ch) in ("Mn", "Me", "Cf"):
            continue
        else:
            cells += 2 if east_asian_width(ch) in ("W", "F") else 1
    return cells


def _clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, its last cell an ellipsis when anything was cut."""
    if cell_len(text) <= width:
        return text
    out = ""
    for ch in text:
        if cell_len(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def _cell(text: str, width: int, right: bool) -> str:
    text = _clip(text, width)
    pad = " " * max(0, width - cell_len(text))
    return pad + text if right else text + pad


def wrap_cells(text: str, width: int, subsequent_indent: str = "") -> list[str]:
    """``textwrap.wrap`` by terminal cells: text of one cell per character goes to textwrap itself;
    other text (wide characters count two cells) is wrapped at spaces, a word wider than a line
    cut by cells."""
    if cell_len(text) == len(text):
        return textwrap.wrap(text, width, subsequent_indent=subsequent_indent)
    lines: list[str] = []
    line = ""
    filled = False  # the line holds a character (not only the indent)
    for word in text.split():
        if filled and cell_len(line) + 1 + cell_len(word) <= width:
            line += " " + word
            continue
        if filled:
            lines.append(line)
            line = subsequent_indent
            filled = False
        for ch in word:
            if filled and cell_len(line) + cell_len(ch) > width:
                lines.append(line)
                line = subsequent_indent
            line += ch
            filled = True
    if filled:
        lines.append(line)
    return lines


def render_table(
    term: _Term,
    *,
    headers: list[str] | None,
    rows: list[list[str]],
    right: list[bool],
    styles: list[str | None],
    title: str = "",
    wrap: bool = False,
) -> None:
    """A box-drawn table. Column widths fit the content; the widest column gives way when the
    terminal is too narrow."""
    ncols = len(right)
    widths = [max([cell_len(r[i]) for r in rows] + ([cell_len(headers[i])] if headers else [0])) for i in range(ncols)]
    budget = term.width - (3 * ncols + 1)
    while sum(widths) > budget and max(widths) > 6:
        widths[widths.index(max(widths))] -= 1
    if title:
        term.line(title, "bold")
    if headers:
        term.line("┏" + "┳".join("━" * (w + 2) for w in widths) + "┓")
        term.line("┃" + "┃".join(f" {_cell(h, w, r)} " for h, w, r in zip(headers, widths, right, strict=True)) + "┃")
        term.line("┡" + "╇".join("━" * (w + 2) for w in widths) + "┩")
    else:
        term.line("┌" + "┬".join("─" * (w + 2) for w in widths) + "┐")
    for row, style in zip(rows, styles, strict=True):
        if wrap:  # long values continue on the next lines instead of being cut
            wrapped = [wrap_cells(c, w) or [""] for c, w in zip(row, widths, strict=True)]
            height = max(len(parts) for parts in wrapped)
            lines = [[parts[k] if k < len(parts) else "" for parts in wrapped] for k in range(height)]
        else:
            lines = [row]
        for cells_text in lines:
            cells = [
                term.paint(f" {_cell(c, w, r)} ", style) for c, w, r in zip(cells_text, widths, right, strict=True)
            ]
            term.line("│" + "│".join(cells) + "│")
    term.line("└" + "┴".join("─" * (w + 2) for w in widths) + "┘")


def change_rows(
    before: PositionRisk,
    after: PositionRisk,
    acc_before: PortfolioRisk,
    acc_after: PortfolioRisk,
    *,
    currency: str | None = None,
) -> list[tuple[str, str, str]]:
    """(field, before, after) for a what-if on one position: the same rows in calc and the TUI.
    ``currency``: the position's settle currency, to label every amount with (calc does); a
    coin-margined position's amounts are labelled with its coin in any case. "Account MR" is the
    position's collateral pool's."""
    tick = display_tick(before.spec)
    if currency is None and before.spec.inverse:
        currency = before.spec.settle or before.spec.symbol.rpartition(":")[2]

    def tier(p: PositionRisk) -> str:
        return f"{p.tier.index} · {plain(p.tier.mmr * 100, 3)}% · {plain(p.tier.max_leverage)}x"

    def money(x: float | None) -> str:
        return fmt_amount(x, currency) if currency else fmt_money(x)

    def size(spec: PositionSpec) -> str:
        return fmt_size(spec) if currency else plain(spec.size)

    def pool_ratio(risk: PortfolioRisk) -> float | None:
        pools = risk.pools
        if currency and pools and currency in pools:
            return pools[currency].margin_ratio
        return risk.account.margin_ratio

    return [
        ("Size", size(before.spec), size(after.spec)),
        ("Entry", fmt_price(before.spec.entry_price, tick), fmt_price(after.spec.entry_price, tick)),
        ("Mark", fmt_price(before.spec.mark_price, tick), fmt_price(after.spec.mark_price, tick)),
        ("Leverage", f"{plain(before.spec.leverage or 0)}x", f"{plain(after.spec.leverage or 0)}x"),
        ("Isolated margin", money(before.spec.isolated_margin), money(after.spec.isolated_margin)),
        ("Liq. price", fmt_price(before.liquidation_price, tick), fmt_price(after.liquidation_price, tick)),
        ("Bankr. price", fmt_price(before.bankruptcy_price, tick), fmt_price(after.bankruptcy_price, tick)),
        ("To liq.", fmt_pct(before.distance_to_liquidation), fmt_pct(after.distance_to_liquidation)),
        ("Margin ratio", fmt_pct(before.margin_ratio), fmt_pct(after.margin_ratio)),
        ("Tier", tier(before), tier(after)),
        ("Maint. margin", money(before.maintenance_margin), money(after.maintenance_margin)),
        ("Initial margin", money(before.initial_margin), money(after.initial_margin)),
        ("Account MR", fmt_pct(pool_ratio(acc_before)), fmt_pct(pool_ratio(acc_after))),
    ]


def _short(symbol: str) -> str:
    return symbol.split(":", 1)[0]


def _mr_text(p: PositionRisk, venue: Venue) -> str:
    text = fmt_pct(p.margin_ratio)
    if p.status != "ok":
        text += f" {p.status.upper()}"
    return text


def _tier_text(p: PositionRisk) -> str:
    lev = f" · {plain(p.tier.max_leverage)}x" if math.isfinite(p.tier.max_leverage) else ""
    return f"{p.tier.index} · {p.tier.mmr * 100:.2f}%{lev}"


def _source_text(source: str, as_of: str, origin: str = "", overrides: str = "") -> str:
    """Where a table came from, in words: ``bundled: <provenance> (as of <date>)``; a table the
    user gave says where (``overrides``: the flags or the file that pinned the bracket); a cached
    table from a host that is not the venue's says so (``cache from http://… (not the venue)``)."""
    if origin == "override":
        return overrides or "your mmr / maint. amount / max leverage (one bracket at every size)"
    if origin == "portfolio":
        return "the position's tiers in the portfolio file"
    short = source if len(source) <= 60 or source.startswith("cache from ") else source[:59] + "…"
    if short.startswith(f"{origin} from "):  # "cache from http://127.0.0.1:8080 (not the venue)"
        text = short
    else:
        label = "--tiers file" if origin == "file" else origin or "bundled"
        text = f"{label}: {short}" if short else label
    return f"{text} (as of {as_of})" if as_of else text


def _no_liquidation(spec: PositionSpec) -> str:
    """Why no price liquidates the position: a long's collateral covers a fall to zero; a short's
    (coin-margined: its coin collateral grows as the price rises) covers any rise."""
    if spec.side == "short" and spec.inverse:
        return "the coin collateral covers any rise"
    return "collateral covers a move to zero" if spec.side == "long" else "collateral covers any rise"


def _leverage_text(p: PositionRisk) -> str:
    """The position's leverage as given (``—`` when none was) and its effective leverage."""
    given = p.spec.leverage
    text = f"{plain(given)}x" if given else "—"
    eff = p.effective_leverage
    if eff is not None and math.isfinite(eff):
        text += f" · effective {fixed(eff)}x (notional ÷ margin balance)"
    return text


def _detail_rows(p: PositionRisk, venue: Venue, overrides: str = "") -> list[tuple[str, str]]:
    spec = p.spec
    tick = display_tick(spec)
    next_notional, next_distance = next_tier_info(p)
    ccy = settle_currency(spec, venue)

    def money(x: float | None) -> str:
        return fmt_amount(x, ccy)

    notional = money(p.notional)
    if spec.inverse:
        notional += f" ({fmt_amount(spec.size, 'USD')} face)"
    rows = [
        (
            "Position",
            f"{spec.symbol} {spec.side} {spec.margin_mode}"
            + ("" if spec.position_side == "both" else f" (hedge {spec.position_side} leg)"),
        ),
        (
            "Size / entry / mark",
            f"{fmt_size(spec)} @ {fmt_price(spec.entry_price, tick)} · mark {fmt_price(spec.mark_price, tick)}",
        ),
        ("Leverage", _leverage_text(p)),
        (
            "Liquidation price",
            fmt_price(p.liquidation_price, tick)
            + ("" if p.liquidation_price is not None else f"  (none: {_no_liquidation(spec)})"),
        ),
        ("Bankruptcy price", fmt_price(p.bankruptcy_price, tick)),
        ("Distance to liquidation", fmt_pct(p.distance_to_liquidation)),
        (
            "Margin ratio",
            _mr_text(p, venue)
            + (
                f"  ({venue.native_margin_ratio_name} {p.margin_ratio_native * 100:.2f}%)"
                if p.margin_ratio_native is not None and venue.native_margin_ratio_name
                else ""
            ),
        ),
        ("Margin balance", money(p.margin_balance)),
        (
            "Maintenance margin",
            money(p.maintenance_margin)
            + (f" + liquidation fee {money(p.liquidation_fee)}" if p.liquidation_fee else ""),
        ),
        ("Initial margin", money(p.initial_margin)),
        ("Notional / uPnL", f"{notional} / {money(p.unrealized_pnl)}"),
        ("Tier", f"{_tier_text(p)} · maint. amount {money(p.tier.maint_amount)}"),
        (
            "Next tier",
            ("last tier" if spec.tiers.complete else "table ends here (truncated)")
            if next_notional is None
            else f"at notional {money(next_notional)} (+{(next_distance or 0) * 100:.1f}%)",
        ),
        ("ADL", f"{adl_lights(p.adl.lights, p.adl.source)}  score {plain(p.adl.score, 4)} ({p.adl.method})"),
        ("Formula", venue.inverse_family if spec.inverse and venue.inverse_family else venue.family),
        ("Tiers from", _source_text(spec.tiers.source, spec.tiers.as_of, spec.tiers.origin, overrides)),
    ]
    return rows


# (header, priority) — lower priority columns are dropped first when the terminal is narrow.
_COLUMNS: tuple[tuple[str, int], ...] = (
    ("Position", 0),
    ("Size", 6),
    ("Entry", 7),
    ("Mark", 3),
    ("Liq.", 0),
    ("Bankr.", 5),
    ("To liq.", 1),
    ("MR", 1),
    ("Tier", 4),
    ("ADL", 2),
    ("uPnL", 8),
)


def _position_cells(p: PositionRisk, venue: Venue) -> list[str]:
    spec = p.spec
    tick = display_tick(spec)
    mode = "iso" if spec.margin_mode == "isolated" else "cross"
    hedge = " hedge" if spec.position_side != "both" else ""
    ccy = settle_currency(spec, venue)
    return [
        f"{_short(spec.symbol)} {spec.side} {mode}{hedge}",
        fmt_size(spec),
        fmt_price(spec.entry_price, tick),
        fmt_price(spec.mark_price, tick),
        fmt_price(p.liquidation_price, tick),
        fmt_price(p.bankruptcy_price, tick),
        fmt_pct(p.distance_to_liquidation, 1),
        _mr_text(p, venue),
        _tier_text(p),
        adl_lights(p.adl.lights, p.adl.source),
        fmt_amount(p.unrealized_pnl, ccy),
    ]


def _positions_table(term: _Term, risk: PortfolioRisk, venue: Venue, title: str) -> None:
    rows = [_position_cells(p, venue) for p in risk.positions]
    widths = [max(cell_len(h), *(cell_len(r[i]) for r in rows)) + 3 for i, (h, _) in enumerate(_COLUMNS)]
    keep = set(range(len(_COLUMNS)))
    for i in sorted(range(len(_COLUMNS)), key=lambda i: -_COLUMNS[i][1]):
        if sum(widths[j] for j in keep) + 1 <= term.width or _COLUMNS[i][1] == 0:
            break
        keep.discard(i)
    shown = sorted(keep)
    headers = [_COLUMNS[i][0] for i in shown]
    render_table(
        term,
        headers=headers,
        rows=[[cells[i] for i in shown] for cells in rows],
        right=[h not in ("Position", "Tier", "ADL") for h in headers],
        styles=[risk_style(p.margin_ratio, p.status) for p in risk.positions],
        title=title,
    )


def venue_title(venue: Venue, specs: Sequence[PositionSpec]) -> str:
    """The venue's label, its coin-margined family's, or both, as the positions hold."""
    from liqwatch.data.contracts import INVERSE

    family = INVERSE.get(venue.name)
    inverse = family.label if family is not None else f"{venue.label} coin-margined"
    kinds = {spec.inverse for spec in specs}
    if kinds == {True}:
        return inverse
    return f"{venue.label} + {inverse}" if True in kinds else venue.label


def pools_of(risk: PortfolioRisk, venue: Venue) -> list[tuple[str, AccountRisk]]:
    """(settle currency, pool) of every collateral pool, the default (``risk.account``) first."""
    pools = risk.pools
    if not pools:
        return [(venue.settle, risk.account)]
    first = next((ccy for ccy, a in pools.items() if a is risk.account), venue.settle)
    return [(first, risk.account)] + [(ccy, a) for ccy, a in pools.items() if a is not risk.account]


def account_lines(risk: PortfolioRisk, venue: Venue) -> list[str]:
    """One line per collateral pool, every amount in the pool's currency."""
    pools = pools_of(risk, venue)
    lines = []
    for ccy, a in pools:
        name = "Account" if len(pools) == 1 else f"{ccy} pool"
        line = (
            f"{name}: wallet {fmt_amount(a.wallet_balance, ccy)} · "
            f"margin balance {fmt_amount(a.margin_balance, ccy)} · "
            f"maintenance {fmt_amount(a.maintenance_margin, ccy)} · margin ratio {fmt_pct(a.margin_ratio)}"
        )
        if a.cross_maintenance_margin:
            line += f" · cross margin ratio {fmt_pct(a.cross_margin_ratio)}"
        lines.append(line)
    return lines


def money_in(x: float | None, currency: str | None) -> str:
    """An amount with its currency: cents for dollar-like currencies, 8 significant digits for a
    coin (BTC-margined amounts are small), at most 8 decimals (its smallest unit: float noise such
    as 3e-21 reads 0); never in scientific notation."""
    if x is None:
        return "—"
    if currency is None or currency.upper().startswith(("USD", "DAI", "FDUSD")):
        return fixed(x) + (f" {currency}" if currency else "")
    return f"{plain(x, 8, max_decimals=8)} {currency}"


def loss_text(doc: dict[str, Any], *, model: bool = True) -> list[str]:
    """A position record's ``liquidation_loss`` in words (three or four lines; without the cost
    model's line when not ``model``: a table of positions states it once, :func:`model_line`)."""
    loss = doc.get("liquidation_loss")
    if loss is None:
        why = doc.get("liquidation_loss_unavailable")
        return [f"If liquidated: — ({why})"] if why else []
    best, worst, cur = loss["best"], loss["worst"], loss["currency"]

    def amount(x: float | None) -> str:
        return money_in(x, cur).removesuffix(f" {cur}")

    def part(case: dict[str, Any]) -> str:
        fee = "fee ?" if case["fee"] is None else f"fee {amount(case['fee'])}"
        fund = "" if case["to_insurance_fund"] is None else f", to the fund {amount(case['to_insurance_fund'])}"
        return f"loses {money_in(case['loss'], cur)} ({fee}{fund}, returned {amount(case['returned'])})"

    lines = [
        f"If liquidated at the liquidation price: {part(best)}",
        f"If filled at the bankruptcy price: {part(worst)}",
    ]
    if model:
        lines.append(model_line(loss))
    if loss["note"]:
        lines.append(f"Note: {loss['note']}")
    return lines


def model_line(loss: dict[str, Any]) -> str:
    """The liquidation cost model of a ``liquidation_loss`` object, in one line of words."""
    return f"Liquidation cost model: {loss['model']} — {loss['rule']}"


def funding_text(doc: dict[str, Any], tick: float) -> list[str]:
    """A position record's ``funding`` in words (one line), or nothing without a rate."""
    funding = doc.get("funding")
    if funding is None:
        why = doc.get("funding_unavailable")
        return [f"Funding: — ({why})"] if why else []
    pay = funding["next_payment"]
    verb = "pays" if pay < 0 else "receives"
    after = " → ".join(fmt_price(x, tick) for x in funding["liquidation_price_after"])
    return [
        f"Funding {funding['rate'] * 100:+.4f}% per payment: the position {verb} "
        f"{money_in(abs(pay), funding.get('currency'))} each time; liquidation price after 1, 2, 3 payments: {after}"
    ]


def _loss_funding_lines(term: _Term, risk: PortfolioRisk, venue: Venue, extras: RecordExtras | None) -> None:
    docs = portfolio_record(risk, venue, extras=extras)["positions"]
    several = len(docs) > 1
    if several:  # the cost model is the venue's: stated once, not under every position
        models: dict[str, list[str]] = {}
        for doc, p in zip(docs, risk.positions, strict=True):
            if doc.get("liquidation_loss") is not None:
                models.setdefault(model_line(doc["liquidation_loss"]), []).append(_short(p.spec.symbol))
        for model, symbols in models.items():
            # with several models, which positions each is for
            text = model if len(models) == 1 else model.replace(":", f" ({', '.join(dict.fromkeys(symbols))}):", 1)
            for part in wrap_cells(text, term.width, subsequent_indent="  "):
                term.line(part)
    for doc, p in zip(docs, risk.positions, strict=True):
        lines = loss_text(doc, model=not several) + funding_text(doc, display_tick(p.spec))
        if several and lines:
            term.line(f"{_short(p.spec.symbol)} {p.spec.side} {p.spec.margin_mode}:", "bold")
        for line in lines:
            for part in wrap_cells(line, term.width, subsequent_indent="  "):
                term.line(("  " if several else "") + part, "dim" if line.startswith("Note") else None)


def print_human(
    risk: PortfolioRisk,
    venue: Venue,
    stream: TextIO | None = None,
    extras: RecordExtras | None = None,
    overrides: str = "",
) -> None:
    """The human answer: one position's card, or a table of positions; then the account, the
    liquidation cost and funding. ``overrides``: where an overriding bracket came from, for the
    card's "Tiers from" (``--mmr 0.005``, ``the portfolio file's mmr``)."""
    term = _Term(stream if stream is not None else sys.stdout)
    title = f"{venue_title(venue, [p.spec for p in risk.positions])} — liquidation risk on the mark price"
    if len(risk.positions) == 1:
        p = risk.positions[0]
        detail = _detail_rows(p, venue, overrides)
        style = risk_style(p.margin_ratio, p.status)
        render_table(
            term,
            headers=None,
            rows=[[k, v] for k, v in detail],
            right=[False, False],
            styles=[style] * len(detail),
            title=title,
            wrap=True,
        )
    else:
        _positions_table(term, risk, venue, title)
    for line in account_lines(risk, venue):
        for part in wrap_cells(line, term.width):
            term.line(part)
    if len(risk.positions) <= 20:  # a large portfolio: --json has every position's figures
        _loss_funding_lines(term, risk, venue, extras)
    note = (
        "Margin ratio = maintenance requirement ÷ margin balance; 100% = liquidation. "
        "'est.' = liqwatch's ADL estimate, not the venue's."
    )
    for part in textwrap.wrap(note, term.width):
        term.line(part, "dim")
