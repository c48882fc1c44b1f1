"""The venue registry is the one list of venues: every registered venue has all its parts (maths,
REST adapter, mark protocol, private stream or why none, recorded fixtures, fake-server handlers),
every other list of venues agrees with it, and no module outside the venue homes names a venue."""

from __future__ import annotations

import argparse
import ast
import itertools
import re
from pathlib import Path
from typing import get_args

import pytest

from liqwatch.config import AccountConfig, ExchangeName
from liqwatch.core.symbols import unified_parts
from liqwatch.core.venues import VENUES
from liqwatch.feeds.private_wire import PrivateProtocol
from liqwatch.feeds.venue_rest import VenueRest
from liqwatch.feeds.wire import MarkProtocol
from liqwatch.venues import HOMES, find_home, get_home, names
from tests.fakes import private_server, rest_server, ws_server

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
NAMES = list(HOMES)


def test_registry_names_agree_with_the_maths_config_and_cli() -> None:
    assert list(names()) == NAMES
    assert set(VENUES) == set(NAMES)  # the pure maths registry (the core cannot import liqwatch.venues)
    assert list(get_args(ExchangeName)) == NAMES
    from liqwatch.cli import build_parser

    choices: set[str] = set()
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for option in sub._actions:
                    if "--exchange" in option.option_strings and option.choices is not None:
                        choices = set(option.choices)
    assert choices == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_venue_has_all_its_parts(name: str) -> None:
    home = get_home(name)
    assert home.maths is VENUES[name]
    assert isinstance(home.rest, VenueRest) and home.rest.name == name
    assert issubclass(home.marks, MarkProtocol) and home.marks.name == name
    if home.private is None:
        assert home.no_private
    else:
        assert isinstance(home.private, PrivateProtocol) and home.private.name == name
    assert set(home.ws_urls) == {"mainnet", "testnet"}
    assert all(url.startswith("wss://") for url in home.ws_urls.values())
    assert home.credentials in ("key_secret", "key_secret_passphrase", "wallet")
    for unified, native in home.symbol_forms.items():
        parts = unified_parts(unified)
        assert parts is not None and home.marks().native(*parts) == native
    for alias in (name, name.upper(), *home.aliases):
        assert find_home(alias) is home
    assert (ROOT / "liqwatch" / "data" / "tiers" / f"{name}.json").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_every_venue_has_recorded_fixtures_and_fake_servers(name: str) -> None:
    home = get_home(name)
    assert sorted((FIXTURES / name).glob("*.json")), f"no recorded fixtures under tests/fixtures/{name}/"
    assert name in rest_server.VENUES, "no fake REST handlers"
    assert name in ws_server.WIRES and name in ws_server.VENUE_PATHS, "no fake mark-stream handlers"
    if home.private is None:
        assert name not in private_server.PRIVATE_PATHS
    else:
        assert name in private_server.PRIVATE_PATHS and hasattr(private_server.FakePrivateServer, f"_on_{name}")
        assert (FIXTURES / "private" / f"{name}.json").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_config_credential_rules_follow_the_venue(name: str) -> None:
    kind = get_home(name).credentials
    if kind == "wallet":
        with pytest.raises(ValueError, match="wallet address"):
            AccountConfig(name="a", exchange=name)
        AccountConfig(name="a", exchange=name, wallet="0x" + "ab" * 20)
        return
    with pytest.raises(ValueError, match="API credentials"):
        AccountConfig(name="a", exchange=name)
    keys = {"api_key_env": "K", "api_secret_env": "S"}
    if kind == "key_secret_passphrase":
        with pytest.raises(ValueError, match="passphrase_env"):
            AccountConfig(name="a", exchange=name, **keys)
        keys["passphrase_env"] = "P"
    AccountConfig(name="a", exchange=name, **keys)


# --------------------------------------------------------------------------- no venue names elsewhere

HOMES_DIRS = ("liqwatch/venues/", "liqwatch/core/venues/", "liqwatch/data/")
SIMULATORS = {"liqwatch/feeds/demo.py", "liqwatch/market/demo.py"}  # the demo market may name the venues it simulates
_WORD = re.compile(r"[A-Za-z]+")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def _venue_words() -> set[str]:
    return {alias.lower() for h in HOMES.values() for alias in (h.name, *h.aliases)}


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
        # attribute docstrings: a bare string right after an assignment
        for field in ("body", "orelse"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list):
                for prev, stmt in itertools.pairwise(stmts):
                    if (
                        isinstance(prev, ast.Assign | ast.AnnAssign)
                        and isinstance(stmt, ast.Expr)
                        and isinstance(stmt.value, ast.Constant)
                    ):
                        ids.add(id(stmt.value))
    return ids


def _help_texts(tree: ast.AST) -> set[int]:
    """``help=`` strings of argparse options: prose, like docstrings."""
    return {
        id(c)
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword) and node.arg == "help"
        for c in ast.walk(node.value)
        if isinstance(c, ast.Constant)
    }


def _tokens(text: str) -> set[str]:
    out: set[str] = set()
    for word in _WORD.findall(text):
        out.add(word.lower())
        out.update(part.lower() for part in _CAMEL.findall(word))
    return out


def venue_names_in(source: str) -> list[str]:
    """Venue names in the code of ``source`` (string literals and identifiers; docstrings and
    comments and argparse ``help=`` prose excluded), as ``"line: name"``."""
    tree = ast.parse(source)
    skip = _docstrings(tree) | _help_texts(tree)
    words = _venue_words()
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        texts: list[str] = []
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            texts.append(node.value)
        elif isinstance(node, ast.Name):
            texts.append(node.id)
        elif isinstance(node, ast.Attribute):
            texts.append(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            texts.append(node.name)
        elif isinstance(node, ast.arg):
            texts.append(node.arg)
        elif isinstance(node, ast.alias):
            texts.append(node.asname or node.name)
        found.extend((getattr(node, "lineno", 0), w) for t in texts for w in sorted(_tokens(t) & words))
    return [f"{line}: {word}" for line, word in sorted(found)]


def test_no_module_outside_the_venue_homes_names_a_venue() -> None:
    offenders: list[str] = []
    for path in sorted((ROOT / "liqwatch").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(HOMES_DIRS) or rel in SIMULATORS:
            continue
        offenders.extend(f"{rel}:{hit}" for hit in venue_names_in(path.read_text()))
    assert offenders == []


def test_the_venue_name_scan_sees_code_not_prose() -> None:
    sample = (
        '"""Binance and OKX in a docstring are prose."""\n'
        "# so is bybit in a comment\n"
        'if exchange == "hyperliquid":\n'
        "    x = 1\n"
        '    """an attribute docstring naming gate"""\n'
        "def load_bitget_rows(okxClient): ...\n"
        "aggregate = navigate = 'delegate'\n"
        "p.add_argument('--mmr', help='Binance cum')\n"
    )
    assert venue_names_in(sample) == ["3: hyperliquid", "6: bitget", "6: okx"]
