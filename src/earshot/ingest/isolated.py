"""Run the native half of ingest in child processes, so a decoder crash costs one file.

FFmpeg and PyAV are C code fed by hostile files: a segmentation fault, an abort or the
kernel's out-of-memory killer would end whatever process runs them. Every `take_in` (store,
hash, decode) therefore runs in a worker process that this module watches. When a worker
dies, the file it was working on becomes that file's failure ("the decoder crashed"), a
fresh worker takes the next file, and the batch completes; a re-run fails the same file
again in the same way instead of dying at it.

Workers are forked from a forkserver (never from the caller, which may run a progress-bar
thread) with the decoder imported once, so a new worker after a crash costs milliseconds.
Results come back in input order.

A worker still busy with one file after `FILE_TIME_LIMIT` seconds (a decoder caught in a
loop) is killed and the file recorded as failed the same way.

``EARSHOT_TEST_CRASH_FILE`` / ``EARSHOT_TEST_HANG_FILE`` (read by the caller, for tests):
a worker that stores a file of that name then kills itself with SIGSEGV / hangs, exactly
where the decoder would run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from ..audio.decode import DEFAULT_MAX_DURATION
from ..errors import AudioDecodeError, EarshotError
from ..processes import start_without_main
from ..security.crypto import MediaCipher
from ..security.private import narrow_umask
from ..store.media import MediaStore
from .worker import TakeIn, TakenIn, make_working_copies, take_in

__all__ = ["CRASH_HOOK_ENV", "FILE_TIME_LIMIT", "HANG_HOOK_ENV", "decode_isolated", "run_isolated"]

CRASH_HOOK_ENV = "EARSHOT_TEST_CRASH_FILE"
HANG_HOOK_ENV = "EARSHOT_TEST_HANG_FILE"
# One file's store + decode; 6 h of audio (the default max_audio_seconds) decodes in a few
# minutes, so only a decoder that no longer progresses reaches this.
FILE_TIME_LIMIT = 1800.0
_PRELOAD = ["earshot.ingest.worker", "earshot.ingest.isolated"]
_STOP_SECONDS = 5.0


def _serve(conn: Connection, crash_name: str | None, hang_name: str | None = None) -> None:
    """Worker loop: take tasks from the pipe until told to stop or the parent is gone."""
    narrow_umask()  # the forkserver may predate the case's umask
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the parent died or closed the pipe
            return
        if task is None:
            return

        def stored(sha256: str, size: int, task: TakeIn = task) -> None:
            conn.send(("stored", sha256, size))
            if crash_name is not None and task.item.name == crash_name:
                os.kill(os.getpid(), signal.SIGSEGV)
            if hang_name is not None and task.item.name == hang_name:
                time.sleep(24 * 3600)

        conn.send(("done", take_in(task, stored)))


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    index: int = -1  # the task in hand, -1 when idle
    sha256: str | None = None
    size: int = 0
    deadline: float = 0.0
    timed_out: bool = False


def _describe(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit status {exitcode}"


def _crashed(worker: _Worker, task: TakeIn) -> TakenIn:
    item = task.item
    what = f"crashed on this file ({_describe(worker.process.exitcode)})"
    if worker.timed_out:
        what = f"was still busy with this file after {FILE_TIME_LIMIT:.0f} s and was stopped"
    error = (
        f"{item.display}: the decoder {what}; it was not taken in and "
        "the rest of the batch went on; convert it with another tool (e.g. ffmpeg to WAV) "
        "and ingest the converted file"
    )
    return TakenIn(item, sha256=worker.sha256, size=worker.size, error=error)


class _Pool:
    def __init__(self, workers: int, hooks: tuple[str | None, str | None]) -> None:
        self.size = max(1, workers)
        self.hooks = hooks
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(_PRELOAD)
        self.idle: list[_Worker] = []
        self.busy: list[_Worker] = []

    def _start(self) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(
            target=_serve, args=(child, *self.hooks), name="earshot-ingest", daemon=True
        )
        start_without_main(process)
        child.close()
        return _Worker(process, parent)

    def submit(self, index: int, task: TakeIn) -> None:
        worker = self.idle.pop() if self.idle else self._start()
        worker.index, worker.sha256, worker.size = index, None, 0
        worker.deadline = time.monotonic() + FILE_TIME_LIMIT
        worker.conn.send(task)
        self.busy.append(worker)

    def collect(self, tasks: Sequence[TakeIn]) -> Iterator[tuple[int, TakenIn]]:
        """Wait for at least one worker to finish or die; yield what finished."""
        timeout = max(0.0, min(w.deadline for w in self.busy) - time.monotonic())
        handles = [w.conn for w in self.busy] + [w.process.sentinel for w in self.busy]
        ready = set(wait(handles, timeout=timeout))
        for worker in self.busy:
            if worker.process.sentinel not in ready and time.monotonic() > worker.deadline:
                worker.timed_out = True
                worker.process.kill()
                worker.process.join()
                ready.add(worker.process.sentinel)
        for worker in list(self.busy):
            if worker.conn not in ready and worker.process.sentinel not in ready:
                continue
            result = self._drain(worker)
            if result is None and worker.process.is_alive():
                continue  # only a "stored" note so far
            self.busy.remove(worker)
            index = worker.index
            if result is None or not worker.process.is_alive():
                # Died (or was stopped) with the task in hand; a result that made it
                # through before the kill still counts.
                worker.process.join()
                if result is None:
                    result = _crashed(worker, tasks[index])
                worker.conn.close()
            else:
                worker.index = -1
                self.idle.append(worker)
            yield index, result

    @staticmethod
    def _drain(worker: _Worker) -> TakenIn | None:
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                if message[0] == "stored":
                    worker.sha256, worker.size = message[1], message[2]
                else:
                    return message[1]  # type: ignore[no-any-return]
        except (EOFError, OSError):
            return None
        return None

    def close(self) -> None:
        for worker in self.idle + self.busy:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in self.idle + self.busy:
            worker.process.join(_STOP_SECONDS)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()


def run_isolated(tasks: Sequence[TakeIn], workers: int) -> Iterator[TakenIn]:
    """`take_in` every task in worker processes; results in task order, one per task.

    At most `workers` processes run at once. A worker that dies (signal, abort, killed for
    memory) turns its task into a failed `TakenIn` and is replaced.
    """
    if not tasks:
        return
    hooks = (os.environ.get(CRASH_HOOK_ENV) or None, os.environ.get(HANG_HOOK_ENV) or None)
    pool = _Pool(min(workers, len(tasks)), hooks)
    pending = deque(enumerate(tasks))
    done: dict[int, TakenIn] = {}
    next_out = 0
    try:
        while next_out < len(tasks):
            while pending and len(pool.busy) < pool.size:
                pool.submit(*pending.popleft())
            for index, result in pool.collect(tasks):
                done[index] = result
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1
    finally:
        pool.close()


def _decode_child(
    conn: Connection,
    case_dir: str,
    media_key: bytes | None,
    sha256: str,
    max_seconds: float,
    replace: bool,
) -> None:
    narrow_umask()
    media = MediaStore(
        Path(case_dir), unlock=(lambda: MediaCipher(media_key)) if media_key else None
    )
    try:
        conn.send(
            ("done", make_working_copies(media, sha256, max_seconds=max_seconds, replace=replace))
        )
    except EarshotError as exc:
        conn.send(("error", type(exc), str(exc)))


def decode_isolated(
    media: MediaStore,
    sha256: str,
    *,
    max_seconds: float = DEFAULT_MAX_DURATION,
    replace: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`make_working_copies` in a child process: a decoder crash raises, never kills us.

    For the decodes outside ingest (the decode stage repairing lost copies, rebuilding
    altered ones); raises the decoder's `EarshotError`, or `AudioDecodeError` if it died.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    parent, child = context.Pipe(duplex=False)
    process = context.Process(
        target=_decode_child,
        args=(child, str(media.root.parent), media.data_key(), sha256, max_seconds, replace),
        name="earshot-decode",
        daemon=True,
    )
    start_without_main(process)
    child.close()
    try:
        message = parent.recv()
    except EOFError:
        process.join()
        raise AudioDecodeError(
            f"original {sha256}: the decoder crashed on it ({_describe(process.exitcode)}); "
            "convert the original with another tool (e.g. ffmpeg to WAV) and ingest that"
        ) from None
    finally:
        parent.close()
    process.join()
    if message[0] == "error":
        error_type, text = message[1], message[2]
        raise error_type(text)
    return message[1]  # type: ignore[no-any-return]
