"""Percentages as a user types them: ``-10``, ``-10%`` or ``-10 %``, one parser for every flag
that takes one (issue #20).

Two readings, by what the flag means:

* :func:`percent_arg` -- a flag *in percent* (``--target-distance 5`` = 5 %): ``5`` and ``5%`` are
  both 5;
* :func:`fraction_arg` -- a flag that takes a *fraction* (``--mmr 0.005``, ``--target-margin-ratio
  0.8``): a bare number is the fraction, a number with ``%`` is divided by 100, so ``0.5%`` is
  0.005 and ``80%`` is 0.8.

Non-finite values pass through as numbers: each flag's own check refuses them with its field.
"""

from __future__ import annotations

import argparse


def split_percent(text: str) -> tuple[float, bool]:
    """(the number, whether it carried a ``%`` sign) of ``text``: ``" -10 % "`` -> (-10.0, True).
    Raises ValueError for anything else."""
    body = text.strip()
    sign = body.endswith("%")
    if sign:
        body = body[:-1].rstrip()
    if not body or body[-1] == "%":
        raise ValueError(text)
    return float(body), sign


def percent_value(text: str) -> float:
    """A number in percent, with or without its ``%`` sign: ``-10``, ``-10%``, ``-10 %`` -> -10.0.
    Raises ValueError."""
    return split_percent(text)[0]


def percent_arg(text: str) -> float:
    """argparse ``type`` of a flag in percent (``5`` or ``5%``)."""
    try:
        return percent_value(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage (e.g. 5 or 5%)") from None


def fraction_arg(text: str) -> float:
    """argparse ``type`` of a flag that takes a fraction: ``0.005`` as given, ``0.5%`` as 0.005."""
    try:
        number, sign = split_percent(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or a percentage (e.g. 0.005 or 0.5%)") from None
    return number / 100.0 if sign else number


__all__ = ["fraction_arg", "percent_arg", "percent_value", "split_percent"]
