"""How many threads the numeric libraries of this process use: set before heavy work, and
reported with each run.

NumPy's OpenBLAS and PyTorch's OpenMP each size a pool of worker threads to the machine, and an
idle worker spins for a while before it sleeps. Two such pools in one process (a backend
comparison), or beside other work on a shared 2-core machine, take each other's cores: in the
dashboard, unpinned torch epochs took 60-140x as long as pinned ones, and the speed ratio it
showed was 0.007-0.016x where `python -m benchmarks.backends` measures 0.57-0.87x. Over the
small matrices of these models a second thread rarely helps anyway (benchmarks/README.md).

The `*_NUM_THREADS` variables are read when a library is loaded: too late for a process forked
with NumPy already loaded (the dashboard's training processes). So `limit_threads` sets them for
libraries loaded later (torch's OpenMP), resizes the pools of those already loaded through
threadpoolctl, and calls torch's own setters once torch is imported (`limit_torch_threads`).
"""

from __future__ import annotations

import contextlib
import os
import sys

DEFAULT_THREADS = 1  # steady on a shared machine; a second thread rarely pays at these sizes
MAX_THREADS = 64
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_threads(threads: int = DEFAULT_THREADS) -> None:
    """Use `threads` threads in every BLAS and OpenMP pool of this process, loaded now or later,
    and in torch (now if it is imported, else call `limit_torch_threads` after importing it)."""
    threads = int(threads)
    if not 1 <= threads <= MAX_THREADS:
        raise ValueError(f"threads={threads} is invalid: must be an integer in [1, {MAX_THREADS}]")
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # applied for good: the returned object is not a scope
    if "torch" in sys.modules:
        limit_torch_threads(threads)


def pin_threads(threads: int = DEFAULT_THREADS, backends=()) -> None:
    """`limit_threads`, importing torch first when one of `backends` is "torch" so that its own
    pools are pinned too: what a training process (the dashboard's, the CLI) calls first."""
    if "torch" in backends:
        import torch  # noqa: F401  (its threads are set below, with everything loaded)
    limit_threads(threads)


def limit_torch_threads(threads: int = DEFAULT_THREADS) -> None:
    """torch's intra-op and inter-op threads. The inter-op count can be set once, before torch
    starts any parallel work; later calls keep the first value."""
    import torch

    torch.set_num_threads(int(threads))
    with contextlib.suppress(RuntimeError):  # already set, or its pool has started
        torch.set_num_interop_threads(int(threads))


def threads_in_force() -> dict:
    """What the libraries of this process report now: {"blas": {library: threads},
    "openmp": threads or None, "torch": intra-op threads or None, "cpus": os.cpu_count()}."""
    from threadpoolctl import threadpool_info

    found: dict = {"blas": {}, "openmp": None, "torch": None, "cpus": os.cpu_count()}
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            found["blas"][str(pool.get("internal_api"))] = int(pool.get("num_threads") or 0)
        elif pool.get("user_api") == "openmp":
            found["openmp"] = max(found["openmp"] or 0, int(pool.get("num_threads") or 0))
    if "torch" in sys.modules:
        found["torch"] = int(sys.modules["torch"].get_num_threads())
    return found


def threads_summary(found: dict | None) -> int | None:
    """The one thread count a run used, when every library agrees on it (else the largest)."""
    if not found:
        return None
    counts = list((found.get("blas") or {}).values())
    counts += [found[k] for k in ("openmp", "torch") if found.get(k)]
    return max(counts) if counts else None
