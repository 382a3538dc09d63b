"""Case files are private to their owner, whatever the umask.

A case holds names, phone numbers and the voices of real people; under the usual umask
022 everything a process writes is world-readable, so another user of a shared machine
could read the database. Three layers keep it private:

* opening or creating a case narrows the process's umask to 077 for good (never widens
  it), so every file this process and its worker processes write afterwards (SQLite
  database and its -wal/-shm files, media, anchors, locks, exports) is owner-only;
* the case directory itself is set to 0700 on every open and the known files
  (`earshot.toml`, the database) to 0600, which protects files made before as well;
* `earshot verify` reports anything inside the case that group or others may read,
  write or enter (:func:`loose_permissions`), and ``--fix-permissions`` tightens them
  (:func:`make_private`): folders 0700, files 0600, read-only files (originals) 0400.

Entries are examined with ``lstat``; links are neither followed nor changed.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "PRIVATE_UMASK",
    "harden_case_dir",
    "loose_permissions",
    "make_private",
    "narrow_umask",
]

PRIVATE_UMASK = 0o077
_GROUP_OTHER = 0o077


def narrow_umask() -> None:
    """Make this process's umask at least 077 (owner-only files from now on)."""
    current = os.umask(PRIVATE_UMASK)
    os.umask(current | PRIVATE_UMASK)


def _private_mode(mode: int) -> int:
    if stat.S_ISDIR(mode):
        return 0o700
    return 0o400 if not mode & stat.S_IWUSR else 0o600


def _entries(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    yield root, root.lstat()
    for folder, dirs, files in os.walk(root):  # os.walk never follows links by default
        for name in dirs + files:
            path = Path(folder) / name
            try:
                yield path, path.lstat()
            except FileNotFoundError:  # removed meanwhile (a temporary)
                continue


def loose_permissions(root: Path, *, extra: tuple[Path, ...] = ()) -> list[str]:
    """Each file or folder under `root` (and each of `extra`) that group or others can use."""
    found = []
    entries = list(_entries(root)) if root.exists() else []
    for path in extra:
        if path.exists():
            entries.append((path, path.lstat()))
    for path, info in entries:
        if stat.S_ISLNK(info.st_mode):
            continue
        if info.st_mode & _GROUP_OTHER:
            mode = stat.S_IMODE(info.st_mode)
            found.append(
                f"LOOSE    {path} is mode {mode:04o}, open to other users; should be "
                f"{_private_mode(info.st_mode):04o} (run `earshot verify CASE --fix-permissions`)"
            )
    return found


def make_private(root: Path, *, extra: tuple[Path, ...] = ()) -> int:
    """Tighten every file and folder under `root` (and `extra`); returns how many changed."""
    changed = 0
    entries = list(_entries(root)) + [(p, p.lstat()) for p in extra if p.exists()]
    for path, info in entries:
        if stat.S_ISLNK(info.st_mode) or not info.st_mode & _GROUP_OTHER:
            continue
        path.chmod(_private_mode(info.st_mode), follow_symlinks=False)
        changed += 1
    return changed


def harden_case_dir(path: Path, names: tuple[str, ...]) -> None:
    """On every open: the case folder 0700 and its known top-level files 0600 (if ours)."""
    narrow_umask()
    targets = [(path, 0o700)] + [(path / name, 0o600) for name in names]
    for target, mode in targets:
        try:
            info = target.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
            continue  # not ours to change (a shared, read-only copy); verify reports it
        if stat.S_IMODE(info.st_mode) & _GROUP_OTHER:
            # A case on read-only media still opens (for reading); verify reports it.
            with contextlib.suppress(OSError):
                target.chmod(mode if not stat.S_ISDIR(info.st_mode) else 0o700)
