"""The risk core's incremental assessment (``engine.assess_solved(previous=...)``, what
`liqwatch watch` runs every second): what did not change keeps its result, and every number is
the assessment from scratch's, bit for bit."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from liqwatch.core import PositionSpec, assess, get_venue
from liqwatch.core.engine import assess_solved
from liqwatch.core.errors import InputError
from liqwatch.core.tiers import build_table

_BRACKETS = [
    {"min": 0, "max": 5_000, "mmr": 0.01, "max_leverage": 50},
    {"min": 5_000, "max": 50_000, "mmr": 0.02, "max_leverage": 25},
    {"min": 50_000, "max": 500_000, "mmr": 0.05, "max_leverage": 10},
]
_ENTRY = {"BTC": 20_000.0, "ETH": 1_500.0, "SOL": 40.0, "XRP": 0.5}

Row = tuple[str, float, float, str, float, str, bool, bool, float]


def _specs(venue_name: str, rows: list[Row], complete: bool) -> tuple[list[PositionSpec], list[tuple[bool, float]]]:
    venue = get_venue(venue_name)
    table = build_table(_BRACKETS, complete=complete)
    specs: list[PositionSpec] = []
    moves: list[tuple[bool, float]] = []
    seen: set[str] = set()
    for side, size, move, mode, share, coin, wants_inverse, moved, new_move in rows:
        inverse = wants_inverse and venue.supports_inverse
        symbol = f"{coin}/USD:{coin}" if inverse else f"{coin}/USDT:USDT"
        if symbol in seen:
            continue
        seen.add(symbol)
        entry = _ENTRY[coin]
        q = size * 1_000.0 if inverse else size * 10_000.0 / entry
        value = q / entry if inverse else q * entry
        specs.append(
            PositionSpec(
                symbol,
                side,  # type: ignore[arg-type]
                q,
                entry,
                entry * move,
                table,
                mode,  # type: ignore[arg-type]
                isolated_margin=value * share if mode == "isolated" else None,
                fee_rate=venue.default_fee_rate,
                inverse=inverse,
                settle=coin if inverse else None,
            )
        )
        moves.append((moved, new_move))
    return specs, moves


@settings(max_examples=300, deadline=None)
@given(
    venue_name=st.sampled_from(["binance", "bybit", "okx", "bitget", "gate", "hyperliquid"]),
    rows=st.lists(
        st.tuples(
            st.sampled_from(["long", "short"]),
            st.floats(0.05, 20.0),
            st.floats(0.7, 1.3),
            st.sampled_from(["isolated", "cross"]),
            st.floats(0.02, 0.6),
            st.sampled_from(list(_ENTRY)),
            st.booleans(),
            st.booleans(),  # its mark moves in the next second
            st.floats(0.7, 1.3),
        ),
        min_size=1,
        max_size=6,
    ),
    wallet=st.floats(0.0, 60_000.0),
    wallet_moves=st.booleans(),
    complete=st.booleans(),
)
def test_the_next_seconds_assessment_is_the_one_from_scratch(
    venue_name: str, rows: list[Row], wallet: float, wallet_moves: bool, complete: bool
) -> None:
    venue = get_venue(venue_name)
    specs, moves = _specs(venue_name, rows, complete)
    pools = {"USDT": wallet, **{s.settle: wallet / 20_000.0 for s in specs if s.settle}}
    first_wallet: float | dict[str, float] = pools if len(pools) > 1 else wallet
    try:
        _, previous = assess_solved(venue, specs, first_wallet)
    except InputError:
        return
    # the next second: some marks moved (new specs), the others are the very same objects
    nxt = [replace(s, mark_price=s.entry_price * m) if moved else s for s, (moved, m) in zip(specs, moves, strict=True)]
    then_wallet: float | dict[str, float] = first_wallet
    if wallet_moves:
        then_wallet = {k: v * 1.01 for k, v in pools.items()} if isinstance(first_wallet, dict) else wallet * 1.01
    try:
        scratch: object = assess(venue, nxt, then_wallet)
    except InputError as exc:
        scratch = exc.message
    try:
        got, _ = assess_solved(venue, nxt, then_wallet, previous)
        reused: object = got
    except InputError as exc:
        reused = exc.message
    assert repr(reused) == repr(scratch)  # every field of every result, -0.0 and NaN as written
    if isinstance(reused, str):
        return
    still = not any(m for m, _ in moves) and not wallet_moves  # nothing changed at all
    before = {id(w.spec): w.risk for pool in previous for w in pool.works}
    for spec, risk in zip(nxt, got.positions, strict=True):
        if before.get(id(spec)) is not None and (spec.margin_mode == "isolated" or still):
            assert risk is before[id(spec)]  # kept, not recomputed


def test_an_unchanged_pool_keeps_every_result_and_a_moved_mark_re_solves_the_cross_ones() -> None:
    venue = get_venue("binance")
    table = build_table(_BRACKETS)
    specs = [
        PositionSpec("BTC/USDT:USDT", "long", 0.5, 20_000.0, 19_500.0, table, "cross"),
        PositionSpec("ETH/USDT:USDT", "short", 4.0, 1_500.0, 1_520.0, table, "cross"),
        PositionSpec("SOL/USDT:USDT", "long", 100.0, 40.0, 39.0, table, "isolated", isolated_margin=500.0),
    ]
    first, previous = assess_solved(venue, specs, 3_000.0)
    same, kept = assess_solved(venue, specs, 3_000.0, previous)
    assert all(a is b for a, b in zip(same.positions, first.positions, strict=True))
    assert same.account is first.account and kept[0].works is previous[0].works
    moved = [replace(specs[0], mark_price=19_000.0), specs[1], specs[2]]
    again, _ = assess_solved(venue, moved, 3_000.0, previous)
    assert repr(again) == repr(assess(venue, moved, 3_000.0))
    assert again.positions[2] is first.positions[2]  # isolated: its own mark did not move
    assert again.positions[1] is not first.positions[1]  # cross: BTC's move moved ETH's price
    assert again.positions[1].liquidation_price != first.positions[1].liquidation_price
