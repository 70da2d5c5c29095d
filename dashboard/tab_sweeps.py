"""Sweeps: start a sweep of the sidebar's experiment (`dashboard.sweep_form`), then, while it
runs and after, what it found: progress, parallel coordinates of the settings and the result,
which settings matter (fANOVA), the result against each setting, lr against hidden size, the
best trials (one opens in the other tabs) and their loss curves overlaid.

Every sweep of the run store's journal is listed, those started with `python -m lstm sweep`
included. The tab reads a sweep through `dashboard.cache` (keyed by the journal's size and
time, the importances by the number of completed trials); while it runs the view is a
fragment polled once a second, as the Training tab's is."""

from __future__ import annotations

import streamlit as st

from dashboard import cache, charts, keys, state, sweep_form, sweeping, training
from dashboard.charts import sweeps as sweep_charts
from dashboard.views import sweeps as sweep_views
from dashboard.views.text import plain

INTRO = (
    "A sweep trains many runs over ranges of settings and asks which setting decides the "
    "result, as Greff et al. (LSTM: A Search Space Odyssey, 2017) did: random search, then "
    "fANOVA. Every trial is an ordinary run (Runs tab, label `sweep NAME #k`)."
)
TABLE_COLUMNS = {"trial": "trial", "outcome": "outcome", "val_loss": "val loss",
                 "solved": "solved", "val_accuracy": "val accuracy", "epochs": "epochs",
                 "seconds": "seconds", "run_id": "run", "message": "message"}  # fmt: skip
CURVES = 3  # trials whose loss curves are overlaid at first
EVALUATORS = ("fanova", "ped-anova")  # lstm.sweep.importances' evaluators, the default first
EVALUATOR_NAMES = {"fanova": "fANOVA", "ped-anova": "PED-ANOVA"}
EVALUATOR_HELP = {
    "fanova": "fANOVA fits a random forest to the completed trials (settings -> validation "
    "loss) and splits its variance into each setting's share: how much a setting moves the "
    "loss anywhere in the range, a few very bad trials included; not which way (the result "
    "per setting, below, says that).",
    "ped-anova": "PED-ANOVA asks what sets the best 10% of the trials apart from the rest: "
    "which settings the good trials share, whatever the bad ones did.",
}


def _sweep_label(found: dict) -> str:
    # what does not change while it runs: the picker's shown label is not redrawn when it does
    when = str(found["created"])[:16].replace("T", " ")
    return f"{found['name']} · {found['dataset']} · {found['sampler']} · started {when}"


def render(ctx: state.Context) -> None:
    store = ctx.store
    if store is None:
        st.error(plain(ctx.store_error or "The run store is not available."))
        return
    storage = sweeping.storage_for(store)
    listed = cache.sweep_list(storage, str(store.root), cache.journal_stamp(storage))
    st.caption(f"{INTRO} Sweeps are kept in {plain(storage)}; a sweep started with "
               "`python -m lstm sweep` against this run store shows up here too.")  # fmt: skip
    with st.expander("Start a sweep from this experiment", expanded=not listed,
                     icon=":material/tune:"):  # fmt: skip
        sweep_form.render(ctx)
    if not listed:
        st.info("No sweep yet: start one above, or from the command line.", icon=":material/info:")
        return
    by_name = {found["name"]: found for found in sorted(listed, key=lambda f: f["created"],
                                                        reverse=True)}  # fmt: skip
    if st.session_state.get(keys.SWEEP_SHOWN) not in by_name:
        st.session_state[keys.SWEEP_SHOWN] = next(iter(by_name))
    name = st.selectbox("sweep", list(by_name), key=keys.SWEEP_SHOWN,
                        format_func=lambda n: _sweep_label(by_name[n]))  # fmt: skip
    key = cache.sweep_key(name, storage, store.root)
    table, _ = cache.sweep_table(key)
    live = bool(sweeping.running_jobs(name)) or (table["state"] == "running").any()
    if live:
        _live(ctx, storage, str(store.root), name)
    else:
        _view(ctx, storage, str(store.root), name)


@st.fragment(run_every=training.POLL_SECONDS)
def _live(ctx: state.Context, storage: str, root: str, name: str) -> None:
    if not _view(ctx, storage, root, name):
        st.rerun()  # the whole page: the form and the list see the end


def _view(ctx, storage: str, root: str, name: str) -> bool:
    """Draw the sweep `name`; whether it is still running."""
    from lstm.sweep.space import SweepDefinition

    table, stored = cache.sweep_table(cache.sweep_key(name, storage, root))
    definition = SweepDefinition.from_dict(stored)
    found = sweep_views.progress(table, definition.trials)
    workers = sweeping.running_jobs(name)
    for job in workers:
        job.seen()
    live = bool(workers) or found.running > 0
    _progress(ctx, name, found, live, bool(workers))
    with st.expander("definition"):
        st.code(definition.describe(), language=None, wrap_lines=True)
    if found.completed == 0:
        st.info("The charts appear when the first trial has completed.", icon=":material/info:")
        return live
    evaluator = st.session_state.get(keys.SWEEP_EVALUATOR) or EVALUATORS[0]  # drawn below
    importances = cache.sweep_importances(name, storage, root, found.completed, evaluator)
    has_shares = "importances" in importances
    st.markdown(plain(sweep_views.findings(table, definition, importances if has_shares
                                           else None)))  # fmt: skip
    log = sweep_views.log_loss(table["val_loss"])
    lines, ticks = sweep_views.parallel_frames(table, definition)
    st.altair_chart(sweep_charts.parallel_coordinates(lines, ticks, sweep_views.axis_order(
        definition), log_loss=log), width="stretch")  # fmt: skip
    left_out = found.counted - found.completed
    st.caption(
        f"Parallel coordinates: one line per completed trial ({found.completed}), each axis a "
        "swept setting over its range (log-spaced where it was swept on a log scale), the last "
        f"the validation loss{' (log scale)' if log else ''}. Colour is the loss (dark: low); "
        f"the {min(sweep_views.BEST, found.completed)} best are thick."
        + (
            f" {left_out} trials without a final loss (pruned, diverged, failed) are not drawn."
            if left_out
            else ""
        )  # fmt: skip
    )
    frame = sweep_views.points_frame(table, definition)
    left, right = st.columns(2)
    with left:
        if has_shares:
            st.altair_chart(sweep_charts.importance_chart(importances), width="stretch")
        else:
            st.info(plain(importances["error"]), icon=":material/info:")
        st.segmented_control("importance by", EVALUATORS, key=keys.SWEEP_EVALUATOR,
                             default=EVALUATORS[0], format_func=EVALUATOR_NAMES.get,
                             required=True, persist_state="session")  # fmt: skip
        st.caption(EVALUATOR_HELP[evaluator])
    with right:
        pair = sweep_views.pair(definition, importances if has_shares else None)
        if pair is not None:
            st.altair_chart(sweep_charts.pair_scatter(frame, definition, *pair, log_loss=log),
                            width="stretch")  # fmt: skip
            st.caption(f"{pair[0]} against {pair[1]}, each trial a point coloured by its "
                       "validation loss; the best ringed.")  # fmt: skip
    st.markdown("**The result against each setting**")
    st.altair_chart(sweep_charts.setting_effects(frame, definition, log_loss=log), width="content")
    _marginals(table, definition)
    _best(ctx, table, definition)
    _curves(ctx, table, definition)
    with st.expander(f"every trial ({len(table)})"):
        st.dataframe(_trials_table(table, definition), hide_index=True, width="stretch")
    return live


def _progress(ctx, name: str, found, live: bool, ours: bool) -> None:
    if live or not found.done:
        st.progress(found.fraction, text=sweeping.status_line(name, found))
    else:
        outcomes = ", ".join(f"{n} {k}" for k, n in found.outcomes.items())
        st.success(f"Sweep {plain(name)} has run its {found.budget} trials ({plain(outcomes)}).",
                   icon=":material/check_circle:")  # fmt: skip
    problems = sweeping.ended_text(name)
    if problems:
        st.warning(plain(problems), icon=":material/warning:")
    if ours:
        st.button("Stop the sweep", key=keys.SWEEP_STOP, icon=":material/stop:",
                  on_click=sweeping.stop, args=(name,),
                  help="Each worker stops at its next training step; the trial in progress is "
                  "queued again, the finished ones are kept")  # fmt: skip
    elif not live and not found.done:
        workers = int(st.session_state.get(keys.SWEEP_WORKERS) or 1)
        clicked = st.button(
            f"Resume with {workers} worker(s)",
            key=keys.SWEEP_RESUME,
            icon=":material/play_arrow:",
            help="Run the rest of its budget (workers: see the start panel)",
        )
        if clicked and state.guard(sweeping.resume, ctx, name, workers) is not None:
            st.rerun()


def _marginals(table, definition) -> None:
    from lstm.sweep import marginals

    with st.expander("median and best loss per value: which way each setting matters"):
        rows = [{"setting": setting, "values": value, "median val loss": median,
                 "best val loss": lowest, "trials": n}
                for setting, found in marginals(table, definition).items()
                for value, median, lowest, n in found]  # fmt: skip
        st.dataframe(rows, hide_index=True, width="stretch")


def _trials_table(table, definition):
    """Trials as a person reads them: number, outcome, loss, the settings, then the rest."""
    names = [axis.name for axis in definition.axes]
    rest = list(TABLE_COLUMNS)[3:]
    shown = table[["trial", "outcome", "val_loss", *names, *rest]]
    shown = shown.assign(solved=shown["solved"].map({True: "yes", False: "no"}))
    if shown["val_accuracy"].isna().all():
        shown = shown.drop(columns=["val_accuracy"])
    return shown.rename(columns=TABLE_COLUMNS)


def _best(ctx, table, definition) -> None:
    st.markdown("**The best trials**")
    top = sweep_views.best(table, 10)
    formats = {"val loss": st.column_config.NumberColumn(format="%.4g"),
               "seconds": st.column_config.NumberColumn(format="%.1f")}  # fmt: skip
    st.dataframe(_trials_table(top, definition), hide_index=True, width="stretch",
                 column_config=formats)  # fmt: skip
    rows = {int(row["trial"]): row for _, row in top.iterrows() if row["run_id"]}
    if not rows:
        return
    if st.session_state.get(keys.SWEEP_OPEN_TRIAL) not in rows:
        st.session_state[keys.SWEEP_OPEN_TRIAL] = next(iter(rows))
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    trial = left.selectbox(
        "trial to open",
        list(rows),
        key=keys.SWEEP_OPEN_TRIAL,
        format_func=lambda t: sweep_views.trial_label(rows[t], definition),
    )
    if right.button("Open in the other tabs", key=keys.SWEEP_OPEN, type="primary",
                    icon=":material/open_in_new:"):  # fmt: skip
        run_id = rows[trial]["run_id"]
        if state.guard(_open, ctx.store, run_id):
            st.success(f"Opened trial {trial} (run `{run_id}`): see Training, Gates and "
                       "Predictions.")  # fmt: skip


def _open(store, run_id: str) -> bool:
    cache.load_run(cache.run_key(store.root, run_id))  # a missing or damaged run says so here
    state.set_current(run_id)
    return True


def _curves(ctx, table, definition) -> None:
    st.markdown("**Loss curves of the chosen trials**")
    done = table[table["counted"] & table["run_id"].notna()]
    rows = {int(row["trial"]): row for _, row in done.iterrows()}
    if not rows:
        return
    chosen = [t for t in st.session_state.get(keys.SWEEP_CURVES, []) if t in rows]
    if keys.SWEEP_CURVES not in st.session_state or not chosen:
        chosen = [int(t) for t in sweep_views.best(table, CURVES)["trial"]]
    st.session_state[keys.SWEEP_CURVES] = chosen

    def label(t: int) -> str:
        row = rows[t]
        loss = f"{row['val_loss']:.4g}" if row["val_loss"] is not None else row["outcome"]
        return f"#{t} · {loss} · {sweep_views.settings_text(row, definition)}"

    picked = st.multiselect("trials", list(rows), key=keys.SWEEP_CURVES, format_func=label)
    curves = {}
    for t in picked:
        try:
            history = cache.run_history(cache.run_key(ctx.store.root, rows[t]["run_id"]))
        except ValueError as exc:
            st.warning(plain(exc))
            continue
        curves[label(t)] = history
    if curves:
        log = charts.default_log_scale([h for c in curves.values() for h in c])
        st.altair_chart(charts.runs_loss_chart(curves, log_scale=log), width="stretch")
        st.caption("Solid: training loss, dashed: validation loss" + (", log scale." if log
                                                                       else "."))  # fmt: skip
