"""A served world for the web tests: two cases, accounts of every role, a live server.

Built once per session on SQLite (analysis and reference drafts included) because the
language models take seconds to load; tests that must run on both backends build
their own small case from the `case` fixture.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from earshot.ingest.runner import IngestOptions, ingest
from earshot.security.accounts import AccountPolicy, AccountStore
from earshot.security.roles import Role
from earshot.store.case import Case
from earshot.web.app import create_app
from earshot.web.context import WebOptions

from ..conftest import write_audio

PASSWORD = "correct horse battery staple"
FAST = AccountPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1, max_failures=5)
ROLES = ("admin", "editor", "translator", "viewer")
IDENTIFIERS = {"name", "diminutive", "phone", "unit", "address", "date_of_birth"}
HOSTILE = '<script>alert("xss-name")</script><img src=x onerror=alert(1)>'


@dataclass
class World:
    own: Case
    other: Case
    accounts: AccountStore
    root: Path

    def login(self, client: httpx.Client | TestClient, user: str) -> str:
        """Log `user` in on `client`; returns the session's CSRF token."""
        form = client.get("/login")
        token = form.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
        done = client.post(
            "/login",
            data={"username": user, "password": PASSWORD, "login_token": token, "next": "/"},
            follow_redirects=False,
        )
        assert done.status_code == 303 and "error" not in done.headers["location"], done.headers
        page = client.get(
            f"/cases/{self.own.case_id}" if user != "outsider" else f"/cases/{self.other.case_id}"
        )
        return page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def truth() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (files("earshot") / "data" / "sample" / "truth.json").read_text(encoding="utf-8")
    )
    return data


def planted_words(call_files: set[str] | None = None) -> set[str]:
    """Every word (3+ letters) of the names, diminutives, phones, units, addresses and
    dates of birth planted in the sample calls (lower case, ё as е)."""
    words: set[str] = set()
    for call in truth()["calls"]:
        if call_files is not None and call["file"] not in call_files:
            continue
        for planted in call["planted"]:
            if planted["kind"] in IDENTIFIERS:
                words |= {w for w in words_of(planted["text"]) if len(w) > 2} - {"мая"}
    return words


def words_of(text: str) -> set[str]:
    return {w.lower().replace("ё", "е") for w in re.findall(r"[\w-]+", text)}


def leaked(text: str, call_files: set[str] | None = None) -> set[str]:
    digits = re.sub(r"\D", "", text)
    phones = {p[-7:] for m in truth()["cast"] for p in m["phones"] if p[-7:] in digits}
    return (planted_words(call_files) & words_of(text)) | phones


def _hostile_inbox(root: Path) -> tuple[Path, Path]:
    """The sample corpus plus a call whose name, transcript and records are hostile."""
    inbox = root / "inbox"
    with as_file(files("earshot") / "data" / "sample") as sample:
        shutil.copytree(sample / "calls", inbox)
        for reference in (sample / "translations").iterdir():
            shutil.copy(reference, inbox / reference.name)
        csv = (sample / "calls.csv").read_text(encoding="utf-8")
    write_audio(inbox / "evil<b>x.wav", seconds=3.0, seed=7)
    (inbox / "evil<b>x.vtt").write_text(
        "WEBVTT\n\n00:00.000 --> 00:01.500\n<v A>Алло " + HOSTILE.replace("-->", "") + "\n\n"
        '00:01.500 --> 00:03.000\n<v B>Мобилизация \'; DROP TABLE calls; -- "*" NEAR(\n',
        encoding="utf-8",
    )
    header = csv.splitlines()[0]
    cols = header.split(",")
    row = {c: "" for c in cols}
    row["file"] = "evil<b>x.wav"
    row.update(
        caller="+79165550001",
        callee="+79165550002",
        caller_name='"<script>alert(3)</script>"',
        location='"<img src=x onerror=alert(4)>"',
        notes='"\u202e\ufffd {{7*7}} <b>bold</b>"',
    )
    if "started_at" in row:
        row["started_at"] = "2022-10-09 10:00"
    metadata = root / "calls.csv"
    metadata.write_text(
        csv.rstrip("\n") + "\n" + ",".join(row[c] for c in cols) + "\n", encoding="utf-8"
    )
    return inbox, metadata


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("web")
    inbox, metadata = _hostile_inbox(root)
    own = Case.init(root / "own")
    ingest(own, [inbox], IngestOptions(metadata=metadata, workers=1))
    from earshot.language.analysis import analyze_case
    from earshot.language.translation.workflow import draft_from_reference

    analyze_case(own)
    with own.session() as session:
        draft_from_reference(session, actor="tester")
    other = Case.init(root / "other")
    with as_file(files("earshot") / "data" / "sample") as sample:
        ingest(other, [sample / "calls" / "call02.flac"], IngestOptions(workers=1))
    accounts = AccountStore(root / "accounts.db", policy=FAST)
    for role in ROLES:
        accounts.add_user(role, PASSWORD)
        accounts.grant(role, own.case_id, Role(role))
    accounts.add_user("outsider", PASSWORD)
    accounts.grant("outsider", other.case_id, Role.ADMIN)
    yield World(own, other, accounts, root)
    own.close()
    other.close()


@pytest.fixture(scope="session")
def app_client(world: World) -> TestClient:
    return TestClient(
        create_app([world.own, world.other], world.accounts), base_url="http://testserver"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server(world: World) -> Iterator[str]:
    """The app on a free 127.0.0.1 port in a thread, for the browser."""
    port = _free_port()
    origins = (f"http://127.0.0.1:{port}",)  # the public origin setting, as `serve` sets it
    app = create_app([world.own, world.other], world.accounts, WebOptions(public_origins=origins))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
