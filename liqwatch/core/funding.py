"""Funding payments and how they move liquidation prices (issue #13).

A perpetual's funding is paid every interval: a long pays ``rate x value`` to the shorts when the
rate is positive and receives it when it is negative. The value is taken at the mark::

    payment to the position = -s * rate * Q * mark        linear (settle currency)
    payment to the position = -s * rate * Q / mark        inverse (coin; Q = USD face)

Isolated margin pays (and receives) funding from the position's margin, which moves its
liquidation price; cross positions pay from the wallet of their collateral pool (settle currency),
which moves the cross liquidation price of every cross position of that pool.
``liquidation_prices_after`` re-solves the whole account with the engine's own solver after each
of 1..N payments (every position with a rate paying at once, the marks held where they are): no
separate formula. Pure computation: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from liqwatch.core.engine import (
    PoolShift,
    SolvedPool,
    Wallet,
    liquidation_prices,
    pool_wallets,
    settle_of,
)
from liqwatch.core.model import PositionSpec
from liqwatch.core.venues.base import Venue

MAX_PERIODS = 1000
"""The most payments a what-if looks ahead (``--funding-periods``)."""


@dataclass(slots=True)
class FundingDrift:
    rate: float
    payment: float
    """What one payment adds to the position's collateral (negative: the position pays)."""
    liquidation_price_after: list[float | None]
    """The liquidation price after 1, 2, ... payments (None: none, or the margin is used up)."""


def funding_payment(spec: PositionSpec, rate: float) -> float:
    """One payment to the position at the current mark (negative when it pays), in the settle
    currency (coin for an inverse position)."""
    s = 1 if spec.side == "long" else -1
    value = spec.size / spec.mark_price if spec.inverse else spec.size * spec.mark_price
    return -s * rate * value


def liquidation_prices_after(
    venue: Venue,
    specs: Sequence[PositionSpec],
    wallet_balance: Wallet,
    rates: Sequence[float | None],
    periods: int,
    solved: Sequence[SolvedPool] | None = None,
) -> list[FundingDrift | None]:
    """Per position (None where no rate is given): the payment and the liquidation price after
    each of 1..``periods`` payments. Every position with a rate pays at every step (isolated ones
    from their margin, cross ones from the shared wallet of their settle currency).

    ``solved``: the pools :func:`~liqwatch.core.engine.assess_solved` solved for these very specs
    (``liqwatch watch``'s snapshot): each payment then re-solves the liquidation prices from the
    figures at the mark already computed (the same solves, the same numbers) instead of assessing
    the whole account again; where the pools are not those this drift would solve (another
    wallet, another grouping), the drift assesses as without them."""
    if len(rates) != len(specs):
        raise ValueError("one rate (or None) per position")
    payments = [None if r is None else funding_payment(spec, r) for spec, r in zip(specs, rates, strict=True)]
    flows: dict[str, float] = {}  # per collateral pool (settle currency): cross payments come out of its wallet
    for spec, pay in zip(specs, payments, strict=True):
        if pay and spec.margin_mode == "cross":
            pool = settle_of(spec, venue)
            flows[pool] = flows.get(pool, 0.0) + pay
    wallets = pool_wallets(venue, specs, wallet_balance)
    one_pool = not isinstance(wallet_balance, Mapping) and all(
        not s.inverse and s.settle is None for s in specs
    )  # the engine's single-pool path: the wallet stays a number
    base = 0.0 if isinstance(wallet_balance, Mapping) else float(wallet_balance)
    after: list[list[float | None]] = [[] for _ in specs]
    if solved is not None and _solved_fits(venue, specs, solved, one_pool):
        _shifted(venue, specs, solved, payments, flows, one_pool, base, wallets, periods, after)
        return _drifts(rates, payments, after)
    for k in range(1, periods + 1):
        moved: list[PositionSpec] = []
        gone: set[int] = set()
        for i, (spec, pay) in enumerate(zip(specs, payments, strict=True)):
            if pay and spec.margin_mode == "isolated" and spec.isolated_margin is not None:
                margin = spec.isolated_margin + k * pay
                if margin <= 0.0:
                    gone.add(i)  # the margin is used up: liquidated before this payment
                    moved.append(spec)
                    continue
                moved.append(replace(spec, isolated_margin=margin))
            else:
                moved.append(spec)
        if one_pool:
            wallet: Wallet = base + k * flows.get(venue.settle, 0.0)
        else:
            wallet = {name: wallets.get(name, 0.0) + k * flows.get(name, 0.0) for name in {*wallets, *flows}}
        for i, lp in enumerate(liquidation_prices(venue, moved, wallet)):  # assess's prices, nothing else
            if payments[i] is not None:
                after[i].append(None if i in gone or lp is None or lp - lp != 0.0 else lp)
    return _drifts(rates, payments, after)


def _drifts(
    rates: Sequence[float | None], payments: Sequence[float | None], after: list[list[float | None]]
) -> list[FundingDrift | None]:
    out: list[FundingDrift | None] = []
    for i, (rate, pay) in enumerate(zip(rates, payments, strict=True)):
        out.append(None if rate is None or pay is None else FundingDrift(rate, pay, after[i]))
    return out


def _solved_fits(
    venue: Venue,
    specs: Sequence[PositionSpec],
    solved: Sequence[SolvedPool],
    one_pool: bool,
) -> bool:
    """The pools are those the drift's own assessment would solve: the same specs in the same
    groups (else the drift assesses from scratch). Their wallets do not matter: each payment's
    solve takes its own, and no figure at the mark depends on one."""
    if venue.size_dependent_tiers:  # the solved specs are sized copies: not these
        return False
    n = len(specs)
    if one_pool:
        groups: dict[str, list[int]] = {venue.settle: list(range(n))}
    else:
        groups = {}
        for i, spec in enumerate(specs):
            groups.setdefault(settle_of(spec, venue), []).append(i)
    held = 0
    for pool in solved:
        members = list(range(n)) if pool.members is None else pool.members
        if not members:
            continue
        if groups.get(pool.settle) != members:
            return False
        for i, w in zip(members, pool.works, strict=True):
            if w.spec is not specs[i]:
                return False
        held += len(members)
    return held == n


def _shifted(
    venue: Venue,
    specs: Sequence[PositionSpec],
    solved: Sequence[SolvedPool],
    payments: Sequence[float | None],
    flows: Mapping[str, float],
    one_pool: bool,
    base: float,
    wallets: Mapping[str, float],
    periods: int,
    after: list[list[float | None]],
) -> None:
    """The drift's prices from the solved pools (:func:`liquidation_prices_after` with ``solved``)."""
    n = len(specs)
    shifts = [PoolShift(venue, pool) if pool.works else None for pool in solved]
    for k in range(1, periods + 1):
        for pool, shift in zip(solved, shifts, strict=True):
            members = list(range(n)) if pool.members is None else pool.members
            if not members or shift is None:
                continue
            if one_pool:
                wallet = base + k * flows.get(venue.settle, 0.0)
            else:  # the drift's mapping, taken per pool as the engine takes a mapping (0.0 + amount)
                name = pool.settle
                wallet = 0.0 + (wallets.get(name, 0.0) + k * flows.get(name, 0.0))
            margins: list[float | None] = []
            gone: set[int] = set()
            for i in members:
                spec, pay = specs[i], payments[i]
                margin = None
                if pay and spec.margin_mode == "isolated" and spec.isolated_margin is not None:
                    moved = spec.isolated_margin + k * pay
                    if moved <= 0.0:
                        gone.add(i)  # the margin is used up: liquidated before this payment
                    else:
                        margin = moved
                margins.append(margin)
            prices = shift.prices(wallet, margins)
            for i, lp in zip(members, prices, strict=True):
                if payments[i] is not None:
                    after[i].append(None if i in gone or lp is None or lp - lp != 0.0 else lp)


__all__ = ["MAX_PERIODS", "FundingDrift", "funding_payment", "liquidation_prices_after"]
