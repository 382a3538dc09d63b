"""Language analysis in worker processes, so a case's calls use every core.

NER is numpy code that holds the GIL, so threads would not help; each worker process
loads the models once (a few seconds, spent in parallel) and analyses chunks of calls,
while the main process reads transcripts and writes results to the database. Workers
run BLAS single-threaded: on a shared 2-core machine two processes with one thread each
beat one process whose second OpenBLAS thread spin-waits for a core.

Workers start through ``forkserver`` (``spawn`` where that is missing), not ``fork``:
the main process may hold database connections and threads (progress bars, a web
server) that a forked child must not inherit. The fork server preloads the models
(:mod:`earshot.language.warm`), so workers start with them instead of loading their own.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from earshot.errors import EarshotError
from earshot.language.names import KnownPerson, PersonDirectory

from ..errors import AnalysisWorkerError

if TYPE_CHECKING:
    from types import TracebackType

    from earshot.language.analysis import AnalysisOptions, CallAnalysis, LanguageAnalyzer

__all__ = ["AnalysisPool", "AnalysisWorkerError", "available_cores"]

Chunk = tuple[Sequence[Sequence[str]], tuple[KnownPerson, ...]]


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


_analyzer: LanguageAnalyzer | None = None
_directories: dict[tuple[KnownPerson, ...], PersonDirectory] = {}


def _start_worker(options: AnalysisOptions) -> None:
    """Load the models once per worker, with one BLAS thread for the process."""
    from threadpoolctl import threadpool_limits

    from earshot.language.analysis import LanguageAnalyzer

    global _analyzer
    threadpool_limits(limits=1, user_api="blas")
    _analyzer = LanguageAnalyzer(options)
    _analyzer.analyze(["Алло, Андрей, это мама."], PersonDirectory(()))  # lazy loads


def _analyze_chunk(
    calls: Sequence[Sequence[str]], persons: tuple[KnownPerson, ...]
) -> tuple[list[CallAnalysis], float]:
    """The chunk's analyses and the CPU seconds they took in this worker."""
    assert _analyzer is not None, "worker started without _start_worker"
    started = time.process_time()
    directory = _directories.get(persons)
    if directory is None:  # the same persons arrive with every chunk of a run
        _directories.clear()
        directory = _directories[persons] = PersonDirectory(persons)
    return _analyzer.analyze_many(calls, directory, persons), time.process_time() - started


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Only heeded when this starts the (process-wide) fork server; otherwise workers
    # load the models themselves in _start_worker.
    context.set_forkserver_preload(["earshot.language.warm"])
    return context


class AnalysisPool:
    """`workers` processes running :class:`LanguageAnalyzer` over chunks of calls.

    Use as a context manager; :meth:`map` yields each chunk's analyses in input order
    and keeps at most two chunks per worker in flight, so reading ahead stays bounded.
    """

    def __init__(self, workers: int, options: AnalysisOptions) -> None:
        if workers < 1:
            raise EarshotError(f"language workers must be at least 1, got {workers}")
        self.workers = workers
        self.cpu_seconds = 0.0  # spent by the workers on the chunks analysed so far
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_context(),
            initializer=_start_worker,
            initargs=(options,),
        )

    def map(self, chunks: Iterable[Chunk]) -> Iterator[list[CallAnalysis]]:
        """Analyses of each chunk (calls' segment texts, the case's persons), in order."""
        pending: deque[Future[tuple[list[CallAnalysis], float]]] = deque()
        try:
            for calls, persons in chunks:
                pending.append(self._executor.submit(_analyze_chunk, calls, persons))
                if len(pending) >= 2 * self.workers:
                    yield self._result(pending.popleft())
            while pending:
                yield self._result(pending.popleft())
        except BrokenProcessPool as exc:
            raise AnalysisWorkerError(
                "a language worker process died (killed or out of memory); free some "
                "memory or analyse fewer calls at a time (`earshot analyze --calls 1-500`), "
                "or run in-process with AnalysisOptions(workers=1)"
            ) from exc
        finally:
            for future in pending:
                future.cancel()

    def _result(self, future: Future[tuple[list[CallAnalysis], float]]) -> list[CallAnalysis]:
        found, cpu = future.result()
        self.cpu_seconds += cpu
        return found

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> AnalysisPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
