"""Compare cells: the sidebar's experiment trained once per chosen cell, on the same data with the
same seed and budget, one background job per cell through the server's one queue
(`dashboard.job_queue.QUEUE`): they run side by side up to one per core, the rest wait their
turn. Every run lands in the run store like any other; its label ends with the comparison's
tag (" · cells <group>"), which is how the Compare cells tab finds a comparison again, in this
session or a later one.

The session keeps the comparison's jobs (`keys.CELLS_JOBS`) and the group shown
(`keys.CELLS_GROUP`); the sidebar shows their progress and keeps them marked as seen (the queue
stops a job whose page has gone); Stop stops every one of them.
"""

from __future__ import annotations

import dataclasses
import re
import uuid

import streamlit as st

from dashboard import jobs, keys, state, training, views
from dashboard.job_queue import QUEUE

TAG = " · cells "  # label suffix: "<run label> · cells <group>"
GROUP = re.compile(r"[0-9a-f]{6}")


def group_of(label: str) -> str | None:
    """The comparison a run belongs to, from its label (None: not a comparison's run)."""
    _, sep, group = (label or "").rpartition(TAG)
    return group if sep and GROUP.fullmatch(group) else None


def comparison() -> dict | None:
    """This session's last comparison: {"group", "cells", "jobs", "collected"}."""
    return st.session_state.get(keys.CELLS_JOBS)


def running() -> bool:
    found = comparison()
    return bool(found) and any(not job.done for job in found["jobs"])


def start(ctx: state.Context, cells: list[str]) -> dict:
    """Train the sidebar's experiment once per cell in `cells`: every run's budget is checked
    before any starts (all or none), then each is handed to the queue."""
    if ctx.dataset is None:
        raise ValueError(ctx.dataset_error or "Choose a dataset first.")
    if not cells:
        raise ValueError("Choose at least one cell to compare.")
    if running():
        raise ValueError("A comparison of cells is already training: stop it first.")
    store = training._writable_store(ctx)
    exp = ctx.experiment
    group = uuid.uuid4().hex[:6]
    limit = training.job_budget()[0]
    spec = ctx.dataset.spec
    raw = ctx.upload["bytes"] if spec.get("name") == "csv" and ctx.upload else None
    planned = []
    for cell in cells:
        model_cfg, train_cfg = exp.configs(ctx.dataset)
        model_cfg = dataclasses.replace(model_cfg, cell=cell)
        training.check_budget(training.estimate(ctx.dataset, model_cfg, train_cfg, [exp.backend]))
        label = views.run_label(exp.name, model_cfg, train_cfg, exp.backend) + TAG + group
        job = jobs.TrainingJob(backends=[exp.backend], epochs=train_cfg.epochs, label=label,
                               kind="cells", threads=exp.threads)  # fmt: skip
        job.memory_budget = limit
        planned.append((job, model_cfg, train_cfg))
    found = {"group": group, "cells": list(cells), "jobs": [p[0] for p in planned],
             "collected": False}  # fmt: skip
    st.session_state[keys.CELLS_JOBS] = found
    st.session_state[keys.CELLS_GROUP] = group
    for job, model_cfg, train_cfg in planned:

        def launch(job, model_cfg=model_cfg, train_cfg=train_cfg):
            jobs.start(job, spec, model_cfg, train_cfg, store_root=store.root, source=raw)

        QUEUE.submit(job, launch)
    return found


def stop() -> None:
    """Stop every job of the session's comparison (those waiting leave the queue)."""
    for job in (comparison() or {}).get("jobs", []):
        if not job.done:
            QUEUE.stop(job, "stopped from its page")


def keep_seen() -> None:
    """The page is open: none of the comparison's jobs is an orphan (dashboard.job_queue)."""
    for job in (comparison() or {}).get("jobs", []):
        if not job.done:
            job.seen()


def progress_text(found: dict) -> str:
    """Where each cell's job stands: "rnn 3/20 · gru waiting (2 in the queue) · lstm done"."""
    parts = []
    for cell, job in zip(found["cells"], found["jobs"], strict=True):
        if job.done:
            parts.append(f"{cell} {job.status()}")
        elif job.queued:
            parts.append(f"{cell} waiting ({QUEUE.position(job)} in the queue)")
        else:
            parts.append(f"{cell} {job.epoch}/{job.epochs}")
    return "Comparing cells: " + " · ".join(parts)


def fraction(found: dict) -> float:
    return sum(job.fraction() for job in found["jobs"]) / max(1, len(found["jobs"]))


@st.fragment(run_every=training.POLL_SECONDS)
def _progress() -> None:
    found = comparison()
    if not found:
        return
    keep_seen()
    if not running():
        if not found["collected"]:
            found["collected"] = True
            st.rerun()  # the whole page: the Compare cells tab reads the finished runs
        return
    st.progress(fraction(found), text=progress_text(found))


def sidebar_progress() -> None:
    """The comparison's progress in the sidebar while it trains (a polling fragment that also
    keeps its jobs seen), and its errors once it has ended."""
    found = comparison()
    if not found:
        return
    if running() or not found["collected"]:
        _progress()
        return
    failed = [f"{cell}: {job.error}" for cell, job in zip(found["cells"], found["jobs"],
                                                          strict=True) if job.error]  # fmt: skip
    if failed:
        from dashboard.views.text import plain

        st.error("Compare cells: " + plain(" · ".join(failed)), icon=":material/error:")
