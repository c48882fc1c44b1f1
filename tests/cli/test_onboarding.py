"""Issue #20, point 16 (the first hour): ``liqwatch init`` writes a starter config, ``liqwatch
config check`` validates it and tries each account read-only, one line each. Against the fake
venue servers on 127.0.0.1 (port 0): no network."""

from __future__ import annotations

import asyncio
import re
import stat
from pathlib import Path

import pytest

from liqwatch.cli import main
from liqwatch.config import load_config
from liqwatch.venues import HOMES, get_home
from tests.fakes.ports import refused_port
from tests.fakes.rest_server import DEFAULT_KEY, FakeRestServer

WALLET = "0x" + "ab" * 20
SECRET = "s3cr3t-SIGNING-secret-value"
PASSPHRASE = "pass-PHRASE-9876"
ALL = list(HOMES)


def _exit_line(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_init_writes_a_private_config_with_one_account_per_venue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert set(ALL) == {"binance", "bybit", "okx", "gate", "bitget", "hyperliquid", "deribit"}
    path = tmp_path / "new" / "config.toml"
    argv = ["init", *ALL[:3], *ALL[4:], "--wallet", WALLET, "--config", str(path), "--exchange", ALL[3]]
    assert main(argv) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {path} (mode 600): 7 accounts\n")
    assert f"then: liqwatch config check --config {path}" in out
    config = load_config(path, warn=(warnings := []))
    assert warnings == []
    by_name = {a.name: a for a in config.accounts}
    assert list(by_name) == [*ALL[:3], *ALL[4:], ALL[3]]  # positionals first, then each --exchange
    for venue, account in by_name.items():
        assert account.exchange == venue
        kind = get_home(venue).credentials
        if kind == "wallet":
            assert account.wallet == WALLET and account.api_key_env is None
            continue
        assert (account.api_key_env, account.api_secret_env) == (f"{venue.upper()}_KEY", f"{venue.upper()}_SECRET")
        assert account.passphrase_env == (f"{venue.upper()}_PASSPHRASE" if kind == "key_secret_passphrase" else None)
        assert f"set {venue.upper()}_KEY, {venue.upper()}_SECRET" in out
    assert by_name["okx"].passphrase_env == "OKX_PASSPHRASE" and by_name["bitget"].passphrase_env == "BITGET_PASSPHRASE"

    # never overwritten without --force; with it, replaced and still private
    before = path.read_text()
    err = _exit_line(capsys, "init", "binance", "--config", str(path))
    assert "already exists; pass --force" in err and path.read_text() == before
    assert main(["init", "okx", "--keyring", "--force", "--config", str(path)]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    [okx] = load_config(path).accounts
    assert okx.keyring == "liqwatch/okx" and okx.api_key_env is None
    assert "`keyring set liqwatch/okx passphrase`" in capsys.readouterr().out


def test_init_writes_to_the_config_dir_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    import os

    assert main(["init", "bybit"]) == 0
    path = Path(os.environ["LIQWATCH_CONFIG_DIR"]) / "config.toml"
    assert load_config(path).accounts[0].exchange == "bybit"
    assert capsys.readouterr().out.endswith("then: liqwatch config check\n")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ((), "exchange: name the venues to watch"),
        (("kraken",), "exchange: unknown venue 'kraken' (binance, bybit, okx, bitget, gate, hyperliquid, deribit)"),
        (("binance", "--exchange", "BINANCE"), "exchange: binance named twice"),
        (("hyperliquid",), "--wallet: hyperliquid accounts are monitored by wallet address"),
        (("hyperliquid", "--wallet", "0x12"), "--wallet: not a wallet address"),
        (("binance", "--wallet", WALLET), "--wallet: only hyperliquid accounts take a wallet address"),
    ],
)
def test_init_refuses_bad_input_in_one_line(
    argv: tuple[str, ...], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    assert expected in _exit_line(capsys, "init", *argv, "--config", str(path))
    assert not path.exists()


def _config(path: Path, urls: dict[str, str], env_prefix: str = "LWC") -> None:
    lines: list[str] = []
    for venue, url in urls.items():
        lines += ["[[accounts]]", f'name = "{venue}-main"', f'exchange = "{venue}"', f'rest_url = "{url}"']
        if get_home(venue).credentials == "wallet":
            lines.append(f'wallet = "{WALLET}"')
        else:
            lines += [f'api_key_env = "{env_prefix}_{venue.upper()}_KEY"', 'api_secret_env = "LWC_SECRET"']
            lines.append('passphrase_env = "LWC_PASS"')
        lines.append("")
    path.write_text("\n".join(lines))
    path.chmod(0o600)


def _check(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str], str]:
    """``liqwatch config check`` in a worker thread (its own event loop) while the fakes serve."""
    code = main(["config", "check", "--config", str(path), *extra])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_config_check_reads_every_venue_once_read_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for venue in ALL:
        monkeypatch.setenv(f"LWC_{venue.upper()}_KEY", DEFAULT_KEY)
    monkeypatch.setenv("LWC_SECRET", SECRET)
    monkeypatch.setenv("LWC_PASS", PASSPHRASE)
    path = tmp_path / "config.toml"

    async def body() -> tuple[int, list[str], str, dict[str, list[tuple[str, str, dict[str, str]]]]]:
        fakes = [FakeRestServer(venue) for venue in ALL]
        for fake in fakes:
            await fake.start()
        try:
            _config(path, {venue: fake.url for venue, fake in zip(ALL, fakes, strict=True)})
            code, out, err = await asyncio.to_thread(_check, path, capsys)
            return code, out, err, {v: list(f.requests) for v, f in zip(ALL, fakes, strict=True)}
        finally:
            for fake in fakes:
                await fake.stop()

    code, out, err, requests = asyncio.run(body())
    assert code == 0, out
    assert err == ""
    assert out[0] == f"{path}: valid; trying 7 accounts read-only"
    assert len(out) == 8
    for venue, line in zip(ALL, out[1:], strict=True):
        assert line.startswith(f"ok     {venue} account '{venue}-main': read-only access works; wallet balance ")
    assert all(DEFAULT_KEY not in line and SECRET not in line for line in out)
    for venue, seen in requests.items():
        assert seen and all(method in ("GET", "POST") for method, _, _ in seen), venue
        if venue == "hyperliquid":  # its read API is POST /info, reads only
            assert {q.get("type") for _, _, q in seen} <= {"meta", "metaAndAssetCtxs", "clearinghouseState", None}


def test_config_check_names_each_failure_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LWC_BINANCE_KEY", "a-revoked-key-123456")  # the fake answers it with Binance's -2015
    monkeypatch.delenv("LWC_OKX_KEY", raising=False)
    monkeypatch.setenv("LWC_BYBIT_KEY", DEFAULT_KEY)
    monkeypatch.setenv("LWC_GATE_KEY", DEFAULT_KEY)
    monkeypatch.setenv("LWC_SECRET", SECRET)
    monkeypatch.setenv("LWC_PASS", PASSPHRASE)
    path = tmp_path / "config.toml"

    async def body() -> tuple[int, list[str], str]:
        async with FakeRestServer("binance") as binance, FakeRestServer("bybit") as bybit:
            with refused_port() as port:
                urls = {
                    "binance": binance.url,
                    "okx": f"http://127.0.0.1:{port}",  # never reached: its key is missing
                    "gate": f"http://127.0.0.1:{port}",
                    "bybit": bybit.url,
                }
                _config(path, urls)
                path.chmod(0o644)
                return await asyncio.to_thread(_check, path, capsys, "--timeout", "20")

    code, out, err = asyncio.run(body())
    assert code == 1
    assert err == f"liqwatch: warning: {path} is readable by other users; chmod 600 it\n"
    lines = dict(zip(["binance", "okx", "gate", "bybit"], out[1:], strict=True))
    assert lines["binance"].startswith("FAILED binance account 'binance-main': authentication failed")
    assert lines["okx"] == (
        "FAILED okx account 'okx-main': accounts.okx-main.api_key_env: environment variable LWC_OKX_KEY is not set"
    )
    # the host and why (issue #20 point 12), not ccxt's class name and the URL it called
    assert re.fullmatch(
        r"FAILED gate account 'gate-main': network error while loading markets: cannot reach 127\.0\.0\.1:\d+ "
        r"\(connection refused\); check the network",
        lines["gate"],
    ), lines["gate"]
    assert lines["bybit"].startswith("ok     bybit account 'bybit-main': read-only access works")
    assert all("a-revoked-key" not in line and SECRET not in line for line in out)


def test_config_check_refuses_what_it_cannot_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.toml"
    assert "config file not found (write one with `liqwatch init`" in _exit_line(
        capsys, "config", "check", "--config", str(missing)
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('[[accounts]]\nname = "x"\nexchange = "kraken"\n')
    assert f"{bad}: accounts[0].exchange: Input should be" in _exit_line(
        capsys, "config", "check", "--config", str(bad)
    )
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert "has no [[accounts]] (write a starter config with `liqwatch init`)" in _exit_line(
        capsys, "config", "check", "--config", str(empty)
    )
    assert "say what to do" in _exit_line(capsys, "config")
