"""Stage one and two for many files over worker processes (``--jobs``) or a Dask cluster.

Files are independent, so each worker runs ``FileAnalyser.run`` on whole files and sends back
the FileReport and the kept events (small: the prefilter keeps ~0.1% of the lines). Results
come back in input order, so ``--jobs N`` gives exactly what ``--jobs 1`` gives. Workers are
forked: they inherit the loaded registry and compiled grammars instead of rebuilding them.
Large tasks go first so that the pool is not left waiting on one big file at the end; the
members of one archive travel as one task, read in archive order.

With ``--engine dask`` the same per-file task runs on dask.distributed workers (a local
cluster, or an existing scheduler): each worker builds its own analyser once and reads the
files by path, so a remote cluster needs the bundle on storage its workers share.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

from reformdiag.ingest.discover import Source
from reformdiag.model import Event, FileReport

_ANALYSER = None  # the FileAnalyser of this worker (set by the parent before forking)


def default_jobs() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _work(group: list[Source]) -> list[tuple[FileReport, list[Event]]]:
    assert _ANALYSER is not None
    return [_ANALYSER.run(source) for source in group]


def _tasks(sources: list[Source]) -> list[list[int]]:
    """Indexes of ``sources`` grouped into tasks, biggest first. A plain file is a task of its
    own; the members of one archive form one task in archive order, because a compressed
    archive has no random access: read out of order, it is decompressed again for each
    member (measured: 7.7 s with --jobs 4 against 5.0 s with --jobs 1 on a 33 MB .tar.gz)."""
    groups: dict[object, list[int]] = {}
    for i, source in enumerate(sources):
        key = (str(source.path), "archive") if source.hops else i
        groups.setdefault(key, []).append(i)
    return sorted(groups.values(), key=lambda g: -sum(sources[i].size for i in g))


def run_files(analyser: object, sources: list[Source], jobs: int, engine: str = "local",
              scheduler: str | None = None
              ) -> Iterator[tuple[Source, FileReport, list[Event]]]:
    """``analyser.run`` over ``sources``, in input order, on ``jobs`` processes or Dask."""
    global _ANALYSER
    if engine == "dask":
        options = analyser.options  # type: ignore[attr-defined]
        with dask_client(scheduler, jobs) as client:
            futures = client.map(_dask_work, sources, options=options, pure=False)
            for source, (report, events) in zip(sources, client.gather(futures), strict=True):
                yield source, report, events
        return
    if jobs <= 1 or len(sources) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for source in sources:
            report, events = analyser.run(source)  # type: ignore[attr-defined]
            yield source, report, events
        return
    _ANALYSER = analyser
    tasks = _tasks(sources)
    ctx = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=ctx) as pool:
            futures = [pool.submit(_work, [sources[i] for i in task]) for task in tasks]
            done: dict[int, tuple[FileReport, list[Event]]] = {}
            for task, future in zip(tasks, futures, strict=True):
                for i, result in zip(task, future.result(), strict=True):
                    done[i] = result
            for i, source in enumerate(sources):
                report, events = done[i]
                yield source, report, events
    finally:
        _ANALYSER = None


# ---- Dask -------------------------------------------------------------------------------
_WORKER_ANALYSERS: dict[str, object] = {}


def _dask_work(source: Source, options: object) -> tuple[FileReport, list[Event]]:
    """One file on a Dask worker; the analyser is built once per worker and options."""
    from reformdiag.parse.registry import default_registry
    from reformdiag.pipeline import FileAnalyser

    key = repr(options)
    if key not in _WORKER_ANALYSERS:
        _WORKER_ANALYSERS[key] = FileAnalyser(default_registry(), options)  # type: ignore[arg-type]
    return _WORKER_ANALYSERS[key].run(source)  # type: ignore[attr-defined]


class dask_client:  # noqa: N801 - used as a context manager, like a function
    """A dask.distributed Client on ``scheduler``, or on a local cluster of ``workers``
    single-threaded worker processes on loopback (closed on exit)."""

    def __init__(self, scheduler: str | None, workers: int) -> None:
        self.scheduler = scheduler
        self.workers = max(1, workers)
        self.cluster = None
        self.client = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            from reformdiag.errors import UsageError

            raise UsageError("--engine dask needs dask.distributed",
                             hint="pip install 'reformdiag[dask]'") from exc
        if self.scheduler:
            self.client = Client(self.scheduler)
        else:
            self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                        processes=True, host="127.0.0.1",
                                        dashboard_address=None)
            self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
