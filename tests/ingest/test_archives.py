"""Archives as they arrive: cp866 zip names without the UTF-8 flag, .7z and .tar.* through
libarchive, with the zip-slip, bomb and link rules of zip."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import libarchive
import pytest

from earshot.ingest.archives import decode_zip_name
from earshot.ingest.runner import IngestOptions, ingest
from earshot.store.case import Case
from earshot.store.failures import list_failures
from earshot.store.queries import list_calls

from ..conftest import write_audio


class _DosName(zipfile.ZipInfo):
    """A member written as Windows archivers do: the name in cp866, no UTF-8 flag."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("cp437"), self.flag_bits & ~0x800


def _dos_zip(path: Path, members: dict[str, bytes], encoding: str = "cp866") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(_DosName(name.encode(encoding).decode("cp437")), data)
    return path


def _wav(tmp_path: Path, name: str = "x.wav", seed: int = 0) -> bytes:
    return write_audio(tmp_path / "src" / name, seed=seed).read_bytes()


def test_zip_member_names_by_flag_utf8_or_cp866() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(_DosName("Запись_Мама.3gp".encode("cp866").decode("cp437")), b"a")
        zf.writestr("Звонок_брату.amr", b"b")  # Python sets the UTF-8 flag
        info = _DosName("Разговор.wav".encode().decode("cp437"))  # UTF-8 bytes, no flag
        zf.writestr(info, b"c")
    with zipfile.ZipFile(buffer) as zf:
        names = [decode_zip_name(info) for info in zf.infolist()]
    assert names == [("Запись_Мама.3gp", None), ("Звонок_брату.amr", None), ("Разговор.wav", None)]


def test_a_name_in_no_plausible_encoding_is_flagged() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(_DosName(bytes(range(0xB0, 0xC8)).decode("cp437") + ".wav"), b"x")
    with zipfile.ZipFile(buffer) as zf:
        name, problem = decode_zip_name(zf.infolist()[0])
    assert problem is not None and "neither UTF-8 nor plausible cp866" in problem
    assert "╨" not in name or problem  # shown, but never silently


def test_windows_zip_matches_call_records_by_cyrillic_name(case: Case, tmp_path: Path) -> None:
    archive = _dos_zip(
        tmp_path / "from_windows.zip",
        {"Звонки/Запись_Мама.wav": _wav(tmp_path), "Звонки/Брат.wav": _wav(tmp_path, seed=3)},
    )
    records = tmp_path / "calls.csv"
    records.write_text(
        "file,started_at,caller,callee\n"
        "Запись_Мама.wav,2023-03-05 14:22+03:00,+79161234567,+79031112233\n"
        "Брат.wav,2023-03-05 15:00+03:00,+79161234567,+79035556677\n",
        encoding="utf-8",
    )
    report = ingest(case, [archive], IngestOptions(metadata=records, workers=1))
    assert report.count("new") == 2 and report.records.applied == 2, report.as_dict()
    with case.session() as session:
        files = sorted(c.source_file for c in list_calls(session))
    assert files == ["Брат.wav", "Запись_Мама.wav"]
    assert not any("╨" in f.path for f in report.files)


def test_7z_and_tar_archives_through_libarchive(case: Case, tmp_path: Path) -> None:
    seven = tmp_path / "calls.7z"
    with libarchive.file_writer(str(seven), "7zip") as writer:
        for name, seed in (("a/первый.wav", 1), ("второй.wav", 2)):
            data = _wav(tmp_path, f"{seed}.wav", seed)
            writer.add_file_from_memory(name, len(data), data)
    tgz = tmp_path / "calls.tar.gz"
    with tarfile.open(tgz, "w:gz") as tar:
        data = _wav(tmp_path, "t.wav", 7)
        member = tarfile.TarInfo("inbox/третий.wav")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    report = ingest(case, [seven, tgz], IngestOptions(workers=1))
    assert report.count("new") == 3, report.as_dict()
    with case.session() as session:
        files = sorted(c.source_file for c in list_calls(session))
    assert files == ["второй.wav", "первый.wav", "третий.wav"]
    again = ingest(case, [seven, tgz], IngestOptions(workers=1))
    assert again.count("unchanged") == 3


def test_tar_slip_links_and_bombs_are_refused_like_zip(case: Case, tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar"
    good = _wav(tmp_path)
    with tarfile.open(evil, "w") as tar:
        for name in ("../outside.wav", "/etc/cron.d/x.wav", "fine.wav"):
            member = tarfile.TarInfo(name)
            member.size = len(good)
            tar.addfile(member, io.BytesIO(good))
        link = tarfile.TarInfo("innocent.wav")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
        tar.addfile(link)
        hard = tarfile.TarInfo("hard.wav")
        hard.type, hard.linkname = tarfile.LNKTYPE, "fine.wav"
        tar.addfile(hard)
    report = ingest(case, [evil], IngestOptions(workers=1))
    assert report.count("new") == 1
    messages = "\n".join(report.errors)
    assert "../outside.wav: refused: the member name climbs out" in messages
    assert "x.wav: refused: the member name is an absolute path" in messages
    assert "innocent.wav: refused: the member is a symbolic link" in messages
    assert "hard.wav: refused: the member is a hard link" in messages
    # A link is named, never its target.
    assert "/etc/shadow" not in messages
    assert not (tmp_path / "outside.wav").exists()

    bomb = tmp_path / "bomb.tar.xz"
    with libarchive.file_writer(str(bomb), "ustar", "xz") as writer:
        zeros = b"\0" * 30_000_000
        writer.add_file_from_memory("silence.wav", len(zeros), zeros)
    report = ingest(case, [bomb], IngestOptions(workers=1))
    assert any("refused as an archive bomb" in e for e in report.errors)
    with case.session() as session:
        stages = {f.stage for f in list_failures(session)}
    assert stages == {"ingest"}


def test_zip_symlink_members_are_refused(case: Case, tmp_path: Path) -> None:
    archive = tmp_path / "links.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("call.wav")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    report = ingest(case, [archive], IngestOptions(workers=1))
    assert any("call.wav: refused: the member is a symbolic link" in e for e in report.errors)
    assert not any("/etc/passwd" in e for e in report.errors)


@pytest.mark.parametrize("suffix", [".7z", ".tar.bz2"])
def test_unreadable_archives_are_one_failure(case: Case, tmp_path: Path, suffix: str) -> None:
    broken = tmp_path / f"broken{suffix}"
    broken.write_bytes(b"not an archive at all" * 10)
    report = ingest(case, [broken], IngestOptions(workers=1))
    assert report.count("failed") == 1
    assert any("unreadable archive" in e and str(broken) in e for e in report.errors)


def test_a_damaged_member_is_an_oserror_the_worker_reports() -> None:
    from earshot.ingest.archives import _Blocks

    def broken() -> Iterator[bytes]:
        yield b"RIFF"
        raise libarchive.ArchiveError("Truncated input file")

    stream = io.BufferedReader(_Blocks(broken(), 10_000, "a.7z!x.wav"))
    with pytest.raises(OSError, match="Truncated input file"):
        stream.read()
