"""`earshot audit anchor` / `export`, scripts/verify_chain.py, and RFC 3161 timestamps.

The timestamp authority is a stand-in on 127.0.0.1 that signs with OpenSSL's own TSA
(`openssl ts -reply`) under a throwaway certificate made here; the token is then checked
with `openssl ts -verify`, as a newsroom would check it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import rfc8785
import sqlalchemy as sa

from earshot.security.timestamp import TimestampError, parse_reply, timestamp_request
from earshot.store.audit import audit, verify_audit
from earshot.store.case import Case
from earshot.store.chainkey import KEY_NAME

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_chain.py"


def _fill(case: Case, n: int = 4) -> None:
    for i in range(n):
        with case.session() as session:
            audit(
                session,
                user="оля",
                action="view_call",
                object_type="call",
                object_id=str(i),
                detail={"ratio": 0.1 * i, "big": 10**15, "note": "\u2028<b>"},
            )


def _script(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_anchor_statement_is_canonical_and_names_both_heads(case_dir: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    with Case.open(case_dir) as case:
        _fill(case)
        with case.session() as session:
            audit_head = verify_audit(session).head_hash
    result = run_cli("audit", "anchor", case_dir, "--json")
    data = json.loads(result.stdout)
    statement = data["statement"]
    assert statement["audit"] == {"length": 4, "head": audit_head}
    assert statement["custody"]["length"] >= 1
    assert data["sha256"] == hashlib.sha256(rfc8785.dumps(statement)).hexdigest()
    plain = run_cli("audit", "anchor", case_dir)
    printed = json.loads(plain.stdout)
    assert rfc8785.dumps(printed) == plain.stdout.strip().encode("utf-8")


def test_exported_logs_verify_with_the_standalone_script(
    case_dir: Path,
    run_cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    with Case.open(case_dir) as case:
        _fill(case)
    statement = tmp_path / "statement.json"
    statement.write_text(run_cli("audit", "anchor", case_dir, "--json").stdout)
    key = case_dir / KEY_NAME
    for log in ("audit", "custody"):
        export = tmp_path / f"{log}.jsonl"
        run_cli("audit", "export", case_dir, "--log", log, "-o", export)
        checked = _script(export, "--key-file", key, "--statement", statement)
        assert checked.returncode == 0, checked.stdout
        assert "checked hashes, links, MACs, statement" in checked.stdout

    lines = (tmp_path / "audit.jsonl").read_text().split("\n")[:-1]
    # An altered entry, a dropped newest entry, a MAC under another key: each caught.
    altered = json.loads(lines[1])
    altered["content"]["object_id"] = "99"
    (tmp_path / "a.jsonl").write_text("\n".join([lines[0], json.dumps(altered), *lines[2:]]))
    (tmp_path / "b.jsonl").write_text("\n".join(lines[:-1]))
    other_key = tmp_path / "other.key"
    other_key.write_text("ab" * 32)
    assert "altered" in _script(tmp_path / "a.jsonl").stdout
    short = _script(tmp_path / "b.jsonl", "--statement", statement)
    assert short.returncode == 1 and "entries were removed" in short.stdout
    forged = _script(tmp_path / "audit.jsonl", "--key-file", other_key)
    assert forged.returncode == 1 and "wrong MAC" in forged.stdout


def test_kept_statement_catches_a_consistent_rewrite(
    case: Case,
    run_cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    """Someone who can write the database and the case directory removes the newest
    entries and rewrites the anchor to match: the case's own check cannot tell, the
    statement kept elsewhere can."""
    _fill(case)
    statement = tmp_path / "statement.json"
    statement.write_text(run_cli("audit", "anchor", case.path, "--json").stdout)
    with case.engine.begin() as conn:
        if case.engine.dialect.name == "postgresql":
            conn.execute(sa.text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(sa.text("DELETE FROM audit_log WHERE id > 2"))
        head = conn.execute(sa.text("SELECT entry_hash FROM audit_log WHERE id = 2")).scalar_one()
    (case.path / "audit.anchor").write_text(
        json.dumps({"format": 2, "length": 2, "head": head, "legacy": 0})
    )
    with case.session() as session:
        assert verify_audit(session).ok  # the limit documented in docs/security.md
    export = tmp_path / "audit.jsonl"
    run_cli("audit", "export", case.path, "-o", export)
    checked = _script(export, "--statement", statement)
    assert checked.returncode == 1 and "entries were removed" in checked.stdout


def test_anchor_refuses_a_broken_log(case: Case, run_cli) -> None:  # type: ignore[no-untyped-def]
    _fill(case, 2)
    (case.path / "audit.anchor").write_text("{broken")
    result = run_cli("audit", "anchor", case.path, code=1)
    assert "audit.anchor is unreadable" in result.stderr
    assert result.stdout == ""


def test_timestamp_request_is_rfc3161_der() -> None:
    """Checked against OpenSSL's reading of it when available, else by its bytes."""
    digest = hashlib.sha256(b"head").digest()
    request = timestamp_request(digest, 0x3039)
    assert request.startswith(b"\x30") and digest in request
    assert request.endswith(b"\x02\x02\x30\x39\x01\x01\xff")
    with pytest.raises(TimestampError, match="not RFC 3161"):
        parse_reply(b"\x30\x05\x02\x01", 1)
    with pytest.raises(TimestampError, match="rejection"):
        parse_reply(bytes.fromhex("3005300302 0102".replace(" ", "")), 1)
    # Granted, but the token is for another request: refused.
    other_token = bytes.fromhex("3003020101")
    granted = b"\x30" + bytes([5 + len(other_token)]) + bytes.fromhex("3003020100") + other_token
    assert parse_reply(granted, 1).status == "granted"
    with pytest.raises(TimestampError, match="not for this request"):
        parse_reply(granted, 1, digest)


# -- the stand-in authority ----------------------------------------------------------------


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(URL, CA file) of a time-stamp authority on 127.0.0.1 backed by `openssl ts`."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = tmp_path / "tsa"
    folder.mkdir()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Stand-in TSA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "tsa.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "tsa.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "serial").write_text("01\n")
    (folder / "tsa.cnf").write_text(
        "[tsa]\ndefault_tsa = tsa_config\n[tsa_config]\n"
        f"serial = {folder / 'serial'}\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n"
        "digests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\n"
    )
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = self.headers["Content-Type"] == "application/timestamp-query"
            with lock:
                (folder / "q.tsq").write_bytes(body)
                made = subprocess.run(
                    [
                        *("openssl", "ts", "-reply", "-queryfile", str(folder / "q.tsq")),
                        *("-signer", str(folder / "tsa.pem"), "-inkey", str(folder / "tsa.key")),
                        *("-config", str(folder / "tsa.cnf"), "-out", str(folder / "r.tsr")),
                    ],
                    capture_output=True,
                    check=False,
                )
                reply = (folder / "r.tsr").read_bytes() if made.returncode == 0 else b""
            self.send_response(200 if ok and reply else 400)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsr", folder / "tsa.pem"
    finally:
        server.shutdown()
        server.server_close()


def _ca_args(ca_file: Path) -> tuple[str, ...]:
    return ("-token_in", "-CAfile", str(ca_file))


def test_anchor_is_timestamped_by_an_rfc3161_authority(
    case_dir: Path,
    run_cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    tsa: tuple[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, ca_file = tsa
    with Case.open(case_dir) as case:
        _fill(case, 2)
    token = tmp_path / "anchor.tsr"
    monkeypatch.setenv("EARSHOT_TSA_URL", url)  # the setting, as a newsroom configures it
    data = json.loads(run_cli("audit", "anchor", case_dir, "--timestamp", token, "--json").stdout)
    assert data["timestamp"]["status"] == "granted" and token.stat().st_size > 100
    checked = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-digest",
            data["sha256"],
            "-in",
            str(token),
            *_ca_args(ca_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0 and "Verification: OK" in checked.stdout, checked.stderr
    other = hashlib.sha256(b"another statement").hexdigest()
    wrong = subprocess.run(
        ["openssl", "ts", "-verify", "-digest", other, "-in", str(token), *_ca_args(ca_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert wrong.returncode != 0


def test_unreachable_authority_is_a_clear_error(case_dir: Path, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(
        "audit",
        "anchor",
        case_dir,
        "--timestamp",
        tmp_path / "x.tsr",
        "--tsa",
        "http://127.0.0.1:9/",
        code=None,
    )
    assert result.exit_code != 0
    assert "cannot reach the time-stamp authority" in result.output + result.stderr
    assert not (tmp_path / "x.tsr").exists()
