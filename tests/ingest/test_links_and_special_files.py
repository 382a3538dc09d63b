"""Links, FIFOs, sockets and kernel files in an ingest: refused unread, named by the link.

A link named like audio can point at /proc/self/environ (the process's secrets), a key
file or /etc/passwd. None of their bytes may reach the case, and the custody log and
failures name the link only, never where it points.
"""

from __future__ import annotations

import os
import socket
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from earshot.ingest.discover import InputFile, discover, open_input
from earshot.ingest.runner import IngestOptions, ingest
from earshot.store.case import Case
from earshot.store.failures import list_failures
from earshot.store.models import Call, CustodyEntry, Sighting

from ..conftest import write_audio

SECRET = b"EARSHOT_MT_API_KEY=sk-not-for-the-case-7f3a\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A secret file outside the folder being ingested."""
    secret = tmp_path / "elsewhere" / "passwd"
    secret.parent.mkdir()
    secret.write_bytes(SECRET * 100)
    return secret


@pytest.fixture
def hostile(tmp_path: Path, outside: Path) -> Iterator[Path]:
    inbox = tmp_path / "inbox"
    write_audio(inbox / "good.wav", seconds=1.0)
    write_audio(inbox / "sub" / "real.wav", seconds=1.0, seed=3, freqs=(500.0,))
    (inbox / ".key").write_bytes(SECRET)
    (inbox / "secret.wav").symlink_to(outside)
    (inbox / "environ.wav").symlink_to("/proc/self/environ")
    (inbox / "hidden-key.wav").symlink_to(inbox / ".key")
    (inbox / "alias.wav").symlink_to(inbox / "sub" / "real.wav")
    (inbox / "dangling.wav").symlink_to(inbox / "gone.wav")
    (inbox / "linked-folder").symlink_to(outside.parent, target_is_directory=True)
    os.mkfifo(inbox / "pipe.wav")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(inbox / "socket.wav"))
    yield inbox
    server.close()


LINKS = ["secret.wav", "environ.wav", "hidden-key.wav", "alias.wav", "dangling.wav"]


def _no_leak(case: Case, outside: Path, *, named: tuple[str, ...] = ()) -> None:
    """No secret bytes in the media store; no target path in custody or failures."""
    for file in (case.path / "media").rglob("*"):
        if file.is_file():
            assert SECRET not in file.read_bytes(), file
    with case.session() as session:
        texts = [f"{e.path} {e.detail}" for e in session.execute(select(CustodyEntry)).scalars()]
        texts += [f.message for f in list_failures(session)]
        texts += [s.original_path for s in session.execute(select(Sighting)).scalars()]
    for text in texts:
        assert str(outside) not in text and ".key" not in text
        assert "/proc/self" not in text or "/proc/self/environ" in named


def test_links_and_special_files_are_refused_unread(
    case: Case, hostile: Path, outside: Path
) -> None:
    report = ingest(case, [hostile])
    status = {Path(f.path).name: (f.status, f.message or "") for f in report.files}
    assert status["good.wav"][0] == "new" and status["real.wav"][0] == "new"
    for link in [*LINKS, "linked-folder"]:
        state, message = status[link]
        assert state == "failed", link
        assert "symbolic link; not followed and not read" in message
        assert message.startswith(str(hostile.resolve() / link))
    assert "a FIFO" in status["pipe.wav"][1] and status["pipe.wav"][0] == "failed"
    assert "a socket" in status["socket.wav"][1] and status["socket.wav"][0] == "failed"
    assert status[".key"][0] == "skipped"
    with case.session() as session:
        calls = sorted(c.source_file for c in session.execute(select(Call)).scalars())
        failed = sorted(Path(f.path).name for f in list_failures(session))
    assert calls == ["good.wav", "real.wav"]
    assert failed == sorted([*LINKS, "linked-folder", "pipe.wav", "socket.wav"])
    _no_leak(case, outside)


def test_follow_symlinks_only_inside_the_folder(case: Case, hostile: Path, outside: Path) -> None:
    report = ingest(case, [hostile], IngestOptions(follow_symlinks=True))
    status = {Path(f.path).name: (f.status, f.message or "") for f in report.files}
    # The link to a file inside the folder is followed: the same recording, seen twice.
    assert status["alias.wav"][0] in {"new", "duplicate"}
    assert {status["alias.wav"][0], status["real.wav"][0]} == {"new", "duplicate"}
    for link in ["secret.wav", "environ.wav", "hidden-key.wav", "dangling.wav", "linked-folder"]:
        assert status[link][0] == "failed", link
        assert "not leading to a visible regular file inside" in status[link][1]
    with case.session() as session:
        sightings = {s.original_path for s in session.execute(select(Sighting)).scalars()}
    assert str(hostile.resolve() / "alias.wav") in sightings  # recorded under the link's name
    _no_leak(case, outside)


def test_links_and_kernel_files_named_on_the_command_line(
    case: Case, hostile: Path, outside: Path
) -> None:
    report = ingest(
        case, [hostile / "secret.wav", Path("/proc/self/environ"), hostile / "pipe.wav"]
    )
    messages = {Path(f.path).name: f.message or "" for f in report.files}
    assert all(f.status == "failed" for f in report.files)
    assert "symbolic link" in messages["secret.wav"]
    assert "pseudo file system" in messages["environ"]
    assert "a FIFO" in messages["pipe.wav"]
    _no_leak(case, outside, named=("/proc/self/environ",))


def test_zip_link_members_are_refused(case: Case, tmp_path: Path, outside: Path) -> None:
    good = write_audio(tmp_path / "good.wav", seconds=1.0)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(good, "calls/good.wav")
        link = zipfile.ZipInfo("calls/passwd.wav")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, str(outside))  # a link member's data is its target path
        fifo = zipfile.ZipInfo("calls/pipe.wav")
        fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
        zf.writestr(fifo, b"")
    report = ingest(case, [archive])
    status = {f.path.rsplit("/", 1)[-1]: (f.status, f.message or "") for f in report.files}
    assert status["good.wav"][0] == "new"
    assert status["passwd.wav"][0] == "failed"
    assert "member is a symbolic link" in status["passwd.wav"][1]
    assert "member is a FIFO" in status["pipe.wav"][1]
    _no_leak(case, outside)


def test_a_file_swapped_for_a_link_after_discovery_is_refused(
    tmp_path: Path, outside: Path
) -> None:
    inbox = tmp_path / "inbox"
    write_audio(inbox / "call.wav", seconds=0.5)
    items, problems = discover([inbox], max_zip_total=10**9, max_zip_ratio=100)
    assert [i.name for i in items] == ["call.wav"] and problems == []
    (inbox / "call.wav").unlink()
    (inbox / "call.wav").symlink_to(outside)
    with pytest.raises(OSError, match="symbolic link"), open_input(items[0]):
        pass
    (inbox / "call.wav").unlink()
    os.mkfifo(inbox / "call.wav")  # would block a plain open() forever
    item = InputFile(str(inbox / "call.wav"), "call.wav", str(inbox), 0)
    with pytest.raises(OSError, match="FIFO"), open_input(item):
        pass
