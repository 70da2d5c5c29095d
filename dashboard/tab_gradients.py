"""Gradients: how far back the error reaches. For the current run, at a snapshot epoch chosen on a
slider (initialisation to the end), the size of the training loss's gradient with respect to
each input step (`lstm.input_gradient`), mean over validation sequences, on a log scale; the
other cells trained on the same experiment (same data and settings, another cell: Compare
cells trains them) drawn over it. A plain RNN's curve falling by orders of magnitude while the
LSTM's stays flat is the picture this tab exists for.

The curves are `dashboard.views.gradients`, cached per run, dataset and epoch
(`cache.gradient_curve`); the other runs are found in the store by their settings
(`cache.run_doc`, `views.same_experiment`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cache, charts, keys, state
from dashboard.views import gradients as grad
from dashboard.views import same_experiment, snapshot_weights
from dashboard.views.text import plain

INTRO = (
    "How far back does the error reach? Each curve is the size of the training loss's gradient "
    "with respect to the input at step t, |dL/dx_t|: how much the loss, taken at the end, can "
    "still tell step t to change. Where it falls by orders of magnitude, what happened at "
    "those steps cannot be learned: the **vanishing gradient** (Hochreiter 1991, Bengio et al. "
    "1994) that the LSTM's cell state was made to carry across (Hochreiter & Schmidhuber 1997)."
)
# measured on the default experiment (adding, T = 50, its preset: hidden 32, Adam lr 0.02, 20
# epochs; the median of seeds 0-2, `python -m benchmarks.gradient_reach`); README "Gradients"
MEASURED = (
    "Measured on the default experiment (adding, T = 50, its preset; median of seeds 0-2, "
    "`python -m benchmarks.gradient_reach`), fitted over steps 0-24: **rnn** falls {rnn0} "
    "decades per step back at initialisation (÷10 every 4 steps: 11-13 orders of magnitude "
    "over the sequence) and {rnn1} after training, which never leaves the baseline (0 of 3 "
    "seeds solved); **lstm** {lstm0} at initialisation (its forget gates start near σ(1) = "
    "0.73) and {lstm1} after training: flat, and solved (3 of 3); **gru** {gru0} and {gru1}, "
    "solved (3 of 3)."
)
SLOPES = {"rnn0": "0.24", "rnn1": "0.55", "lstm0": "0.063", "lstm1": "-0.006", "gru0": "0.19",
          "gru1": "-0.003"}  # fmt: skip
MAX_CANDIDATES = 60  # runs whose settings are read to find the other cells (newest first)


def _other_cells(ctx: state.Context, run) -> list[cache.RunKey]:
    """The newest run of each other cell trained on the same experiment (none of this cell)."""
    cfg = run.model_cfg
    name = (run.dataset or {}).get("name", "")
    candidates = [
        info for info in ctx.store.list()
        if info.status != "broken" and info.id != run.id and info.cell != cfg.cell
        and info.dataset == name and info.hidden_size == cfg.hidden_size
        and info.num_layers == cfg.num_layers and info.epochs_planned == run.train_cfg.epochs
    ][:MAX_CANDIDATES]  # fmt: skip
    found: dict[str, cache.RunKey] = {}
    for info in candidates:
        if info.cell in found or info.epochs == 0:
            continue
        try:
            key = cache.run_key(ctx.store.root, info.id)
            if same_experiment(run, cache.run_doc(key)):
                found[info.cell] = key
        except ValueError:  # deleted or damaged since it was listed
            continue
    return list(found.values())


def _epoch_ui(run) -> int:
    epochs = list(snapshot_weights(run))
    if len(epochs) < 2:
        return epochs[-1] if epochs else 0
    return st.select_slider(
        "training snapshot (epoch)",
        options=epochs,
        value=epochs[-1],
        key=keys.GRAD_EPOCH,
        help="Epoch 0 is the initialisation. The gradient is computed from the weights saved at "
        "that epoch (the other cells: at the same epoch, or the nearest earlier one saved).",
    )


def _curves(shown: state.Shown, others: list, epoch: int) -> tuple[list, list]:
    """(curves at `epoch`, the same runs at initialisation): this run first, then the others."""
    run = shown.run
    label = f"{run.model_cfg.cell} (this run)"
    now = [cache.gradient_curve(shown.key, shown.data_key, shown.dataset, epoch, label)]
    start = []
    if epoch > 0:
        start.append(cache.gradient_curve(shown.key, shown.data_key, shown.dataset, 0, label))
    for key in others:
        cell = cache.run_doc(key).model_cfg.cell
        now.append(cache.gradient_curve(key, shown.data_key, shown.dataset, epoch, cell))
        if epoch > 0:
            start.append(cache.gradient_curve(key, shown.data_key, shown.dataset, 0, cell))
    return now, start


def _table(now: list, start: list) -> pd.DataFrame:
    """Each run's rows together (this run first), initialisation before the chosen epoch."""
    first = {one.run_id: one for one in start}
    pairs = [[first[one.run_id], one] if one.run_id in first else [one] for one in now]
    return pd.DataFrame(grad.reach_table([c for pair in pairs for c in pair]))


def render(ctx: state.Context) -> None:
    current = ctx.current
    if current is None:
        state.no_run_yet(ctx, "the gradients")
        return
    run = current.run
    st.markdown(INTRO)
    if current.note:
        st.caption(plain(current.note) + " The gradients use the run's probe sequences.")
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    with left:
        epoch = _epoch_ui(run)
    with right:
        overlay = st.toggle("other cells too", value=True, key=keys.GRAD_OTHERS,
                            help="The newest run of each other cell with the same data and "
                            "settings (Compare cells trains them)")  # fmt: skip
    others = _other_cells(ctx, run) if overlay and ctx.store is not None else []
    now, start = _curves(current, others, epoch)
    first, last = now[0].fitted
    each = run.model_cfg.target == "each"
    x_title = ("time step t (a loss at every step: later steps have more losses after them)"
               if each else "time step t (the loss is taken after the last step)")  # fmt: skip
    chart = charts.gradient_chart(now, start, steps=len(now[0].sizes), fitted=now[0].fitted,
                                  x_title=x_title)  # fmt: skip
    st.altair_chart(chart, width="stretch")
    used = sorted({c.epoch for c in now})
    said = f"epoch {used[0]}" if len(used) == 1 else "epochs " + ", ".join(map(str, used))
    st.caption(
        f"Solid: the weights at {said}; dashed: at initialisation. Mean over "
        f"{now[0].sequences} sequences of |dL_n/dx_t| (each sequence's own loss, the input's "
        "features together), computed in float64 so that tiny values do not underflow. The "
        f"slopes below are fitted over the shaded steps {first}-{last - 1}, the furthest "
        "from the loss."
    )
    st.dataframe(
        _table(now, start),
        hide_index=True,
        width="stretch",
        column_config={
            "first step ÷ last step": st.column_config.NumberColumn(format="%.2e"),
            "decades per step back": st.column_config.NumberColumn(format="%.3f"),
            "reads as": st.column_config.TextColumn(width="large"),
        },
    )
    if each:
        st.caption(
            "This task has a target at every step, so the error of step t's input comes from "
            "every later step's loss: a curve that stays up says the cell carries it, but the "
            "clean picture of one distant loss is the default task's (adding, one target at "
            "the end)."
        )
    if not others:
        st.info(
            "No other cell has been trained on this experiment yet: **Compare cells** trains "
            "rnn, gru and lstm on it with one click, and their curves appear here.",
            icon=":material/compare:",
        )
    st.caption(MEASURED.format(**SLOPES))
