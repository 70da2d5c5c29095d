"""Compare cells: one click trains the sidebar's experiment with several cells (rnn, gru and lstm
by default; the LSTM variants of Greff et al. on request), on the same data with the same seed
and budget, as background jobs through the server's queue (`dashboard.cells_training`). Then
their validation curves overlaid, a table of final and best values, whether each solved the
task by its threshold, time per epoch and parameter count; any of the runs opens in the other
tabs. The comparison's runs are found in the store by the tag in their labels."""

from __future__ import annotations

import streamlit as st

from dashboard import cache, cells_training, charts, keys, state, training
from dashboard.views import cell_compare
from dashboard.views import cells as cell_words
from dashboard.views.text import plain

HOW = (
    "One click trains the experiment set in the sidebar once per chosen cell: the same data, "
    "the same seed (the same batches; each cell draws its own initial weights from it), the "
    "same epochs and settings, at the same hidden size (so the parameter counts differ: a GRU "
    "has three blocks of weights, an LSTM four, an RNN one). The runs train as background jobs, "
    "up to one per core at a time, the others waiting their turn; each lands in the run store "
    "and opens in the other tabs like any run."
)
TIMES = (
    "Seconds per epoch are the median of the run's epochs, as the machine gave them: cells "
    "that trained side by side shared the cores, so compare times within one comparison."
)


def _add_greff() -> None:
    chosen = list(st.session_state.get(keys.CELLS_CHOSEN) or [])
    st.session_state[keys.CELLS_CHOSEN] = chosen + [
        c for c in cell_words.GREFF_VARIANTS if c not in chosen
    ]


def _controls(ctx: state.Context) -> None:
    busy = cells_training.running()
    left, mid, right = st.columns([4, 1.6, 1.2], vertical_alignment="bottom")
    chosen = left.multiselect(
        "cells to train",
        cell_words.all_cells(),
        default=list(cell_words.COMPARE_DEFAULT),
        key=keys.CELLS_CHOSEN,
        help="\n".join(f"- **{c}**: {line}" for c, line in cell_words.CELL_LINES.items()),
    )
    mid.button("+ the LSTM variants", key=keys.CELLS_GREFF, on_click=_add_greff,
               help="Greff et al. 2017, 'LSTM: A Search Space Odyssey': peephole, cifg, nfg, "
               "nig, nog, niaf, noaf", width="stretch")  # fmt: skip
    if state.pressed(right, "Train these cells", key=keys.CELLS_TRAIN,
                     asked=keys.CELLS_TRAIN_ASKED, type="primary", disabled=busy,
                     icon=":material/compare:", width="stretch") and state.guard(
        cells_training.start, ctx, list(chosen)
    ):  # fmt: skip
        st.rerun()  # the sidebar, drawn before this click, shows the comparison's progress


@st.fragment(run_every=training.POLL_SECONDS)
def _live() -> None:
    found = cells_training.comparison()
    if not found or not cells_training.running():
        st.rerun()
    cells_training.keep_seen()
    st.caption(cells_training.progress_text(found) + ". Progress also in the sidebar.")
    st.button("Stop the comparison", key=keys.CELLS_STOP, on_click=cells_training.stop,
              icon=":material/stop:",
              help="Stop every cell's job after its current step (the waiting ones leave the "
              "queue); finished epochs are kept")  # fmt: skip
    pairs = zip(found["cells"], found["jobs"], strict=True)
    curves = {cell: list(job.history) for cell, job in pairs if job.history}
    if curves:
        st.altair_chart(charts.cells_loss_chart(curves), width="stretch")


def _groups(ctx: state.Context) -> dict[str, list]:
    """{group: [RunInfo, ...]} of every comparison in the store, newest first."""
    found: dict[str, list] = {}
    for info in ctx.store.list():
        group = cells_training.group_of(info.label) if info.status != "broken" else None
        if group:
            found.setdefault(group, []).append(info)
    return found


def _group_label(infos: list) -> str:
    first = infos[-1]
    order = cell_words.all_cells()
    cells = ", ".join(sorted(dict.fromkeys(i.cell for i in infos), key=order.index))
    return f"{first.dataset} · {first.created[:19].replace('T', ' ')} UTC · {cells}"


def _result(ctx: state.Context) -> None:
    groups = _groups(ctx)
    if not groups:
        st.info("No comparison yet: choose the cells and press **Train these cells**.",
                icon=":material/info:")  # fmt: skip
        return
    mine = st.session_state.get(keys.CELLS_GROUP)
    options = list(groups)
    group = st.selectbox(
        "comparison",
        options,
        index=options.index(mine) if mine in options else 0,
        key=keys.CELLS_PICK,
        format_func=lambda g: _group_label(groups[g]),
        help="Every comparison of cells in the run store, newest first",
    )
    infos = list(reversed(groups[group]))  # in the order they were started
    runs = []
    for info in infos:
        loaded = state.guard(lambda i=info: cache.load_run(cache.run_key(ctx.store.root, i.id),
                                                          snapshots=False))  # fmt: skip
        if loaded is not None:
            runs.append(loaded)
    if not runs:
        return
    order = cell_words.all_cells()
    runs.sort(key=lambda r: order.index(r.model_cfg.cell) if r.model_cfg.cell in order else 99)
    name = (runs[0].dataset or {}).get("name", "")
    rule = cell_compare.thresholds(name)
    curves = cell_compare.validation_curves(runs)
    threshold = next((t.value for t in _val_loss_rule(name)), None)
    st.altair_chart(charts.cells_loss_chart(curves, threshold=threshold,
                                            log_scale=_spans(curves)), width="stretch")  # fmt: skip
    st.dataframe(
        cell_compare.cells_table(runs),
        hide_index=True,
        width="stretch",
        column_config={
            "final val loss": st.column_config.NumberColumn(format="%.4g"),
            "best val loss": st.column_config.NumberColumn(format="%.4g"),
            "final val accuracy": st.column_config.NumberColumn(format="percent"),
            "best val accuracy": st.column_config.NumberColumn(format="percent"),
            "s / epoch": st.column_config.NumberColumn(format="%.3f", help=TIMES),
            "solved": st.column_config.CheckboxColumn(
                help=f"The last epoch against the task's threshold: {rule}" if rule else
                "No threshold for this dataset: whether the kept epoch beats its yardstick"),
        },
    )  # fmt: skip
    said = f"Solved means {plain(rule)} at the last epoch." if rule else ""
    st.caption(f"{said} {TIMES}".strip())
    _open(ctx, runs)


def _val_loss_rule(name: str) -> list:
    from data.presets import solved_thresholds

    return [t for t in solved_thresholds(name) if t.metric == "val_loss" and t.op == "<"]


def _spans(curves: dict) -> bool:
    losses = [e["val_loss"] for h in curves.values() for e in h if e.get("val_loss")]
    return bool(losses) and min(losses) > 0 and max(losses) / min(losses) > 10


def _open(ctx: state.Context, runs: list) -> None:
    by_id = {run.id: run for run in runs}
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    run_id = left.selectbox("run", list(by_id), key=keys.CELLS_OPEN_RUN,
                            format_func=lambda r: f"{by_id[r].model_cfg.cell} · {r}")  # fmt: skip
    if right.button("Open in the other tabs", key=keys.CELLS_OPEN, icon=":material/open_in_new:",
                    width="stretch"):  # fmt: skip
        state.set_current(run_id)
        st.success(f"Opened the {by_id[run_id].model_cfg.cell} run {run_id}: see Training, Gates "
                   "and Gradients (which draws the other cells over it).")  # fmt: skip


def render(ctx: state.Context) -> None:
    st.markdown(HOW)
    if ctx.store is None:
        st.error(plain(ctx.store_error or "The run store is not available."))
        return
    _controls(ctx)
    if cells_training.running():
        _live()
        return
    _result(ctx)
