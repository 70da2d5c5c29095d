"""Every `st.session_state` key and widget key the dashboard uses, declared once.

Code uses these names, never the strings (tests/dashboard/test_structure.py checks it). A
widget's key is also its name in `st.session_state`, and for the sidebar's settings the URL's
query parameter (`bind="query-params"`; the dataset, tab and run parameters are kept by
dashboard.links), so changing one of those values breaks shared links.
"""

from __future__ import annotations

import re

# ----------------------------------------------------------------------------- session state

JOB = "job"  # the TrainingJob of the last Train, Compare or walkthrough click (dashboard.jobs)
# id of the session's job whose result this session has picked up: several sessions may follow
# one job (a reloaded page, a second tab with its link), and each picks the result up itself
JOB_COLLECTED = "job_collected"
CURRENT_RUN = "current_run"  # id of the run the tabs show (trained here, or opened in Runs)
COMPARE_RESULT = "compare_result"  # the last comparison: {"run_ids": [...], "error": str|None}
CELL_RUN = "cell_run"  # id of the walkthrough's trained one-unit run
CSV_DIGEST = "csv_digest"  # digest of the upload the CSV option choices belong to
SMOOTHING_CHOSEN = "smoothing_chosen"  # the user moved the smoothing slider: stop following
RUNS_EXPORTS = "runs_exports"  # {(run id, format, stamp): bytes} made for the selected run
RUNS_EXPORT_REQUEST = "runs_export_request"  # (run id, format) of a "prepare" click
CONFIRM_DELETE = "confirm_delete"  # id of the run whose Delete… awaits confirmation
RUNS_FLASH = "runs_flash"  # what the last delete did, said once on the next run of the page
LOG_CHOSEN = "log_chosen"  # the user flipped the log-scale toggle: stop following the data
URL_READ = "url_read"  # the URL's parameters have been read (on the session's first run)
URL_NOTICES = "url_notices"  # what reading the URL changed, one sentence each (shown on top)

# ----------------------------------------------------------------------------- widgets

TAB = "tab"  # the open tab (st.tabs; also ?tab=); Train sets it to "Training"
DATASET = "dataset"  # sidebar: dataset name, or dashboard.upload.UPLOAD (also ?dataset=)
RUN = "run"  # the URL parameter naming the run the tabs show (?run=<id>), no widget
# the URL parameter naming the session's training job until its result is picked up
# (?training=<job id>), no widget: a reloaded page follows the same job (dashboard.links)
TRAINING_JOB = "training"
THREADS = "threads"  # sidebar: BLAS/OpenMP/torch threads of the training processes
UPLOAD_FILE = "upload"  # sidebar: the CSV file uploader
BACKEND = "backend"  # sidebar: backend name from lstm.backends.BACKENDS
# sidebar: one widget per ModelConfig field the user sets, keyed by the field's name
MODEL_FIELDS = ("hidden_size", "num_layers", "forget_bias")
# sidebar: one widget per TrainConfig field, keyed by the field's name
TRAIN_FIELDS = ("epochs", "batch_size", "lr", "optimizer", "momentum", "clip_norm", "seed", "dtype")
TRAIN = "train"  # sidebar: the Train button
TRAIN_ASKED = "train_asked"  # a Train click not yet acted on (state.pressed)
STOP = "stop"  # sidebar: the Stop button
LOG_SCALE = "log_scale"  # Training: log scale of the loss chart
SMOOTHING = "smoothing"  # Training: EMA weight of the loss chart
GATES_EPOCH = "gates_epoch"  # Gates: the snapshot epoch shown
GATES_SAMPLE = "gates_sample"  # Gates: the validation sequence shown
GATES_LAYER = "gates_layer"  # Gates: the layer shown
GATES_ORDER = "gates_order"  # Gates: units in model order or by activity
PRED_SAMPLE = "pred_sample"  # Predictions: the sequence of a target-at-every-step regression
COMPARE = "compare"  # Compare backends: the "train on both" button
COMPARE_ASKED = "compare_asked"  # a click of it not yet acted on (state.pressed)
CELL_MODE = "cell_mode"  # Cell walkthrough: "One step" or "Sequence"
CELL_RESET = "cell_reset"  # Cell walkthrough: back to the worked example
CELL_TRAIN = "cell_train"  # Cell walkthrough: train a one-unit LSTM on statquest
CELL_TRAIN_ASKED = "cell_train_asked"  # a click of it not yet acted on (state.pressed)
CELL_USE_LEARNED = "cell_use_learned"  # Cell walkthrough: learned weights into the controls
RUNS_OVERLAY = "runs_overlay"  # Runs: the runs whose loss curves are overlaid
RUNS_LOG = "runs_log"  # Runs: log scale of the overlay
RUNS_SELECTED = "runs_selected"  # Runs: the one run to open, download or delete
RUNS_OPEN = "runs_open"  # Runs: "Open in the other tabs"
RUNS_DELETE = "runs_delete"  # Runs: "Delete…"
RUNS_DELETE_CONFIRM = "runs_delete_confirm"  # Runs: confirm the delete
RUNS_DELETE_CANCEL = "runs_delete_cancel"  # Runs: cancel the delete
URL_DISMISS = "url_dismiss"  # top of the page: hide the notice about the link's values

# ----------------------------------------------------------------------------- your own data
# (issue 12: what to predict, sizes suggested for an upload, the predictions download)

SUGGESTED_FOR = "suggested_for"  # digest of the upload whose suggested settings were applied
PRED_DOWNLOAD = "pred_download"  # Predictions: download truth, predictions and forecast (CSV)
USE_SUGGESTED = "use_suggested"  # Data: apply the settings suggested for the uploaded data

# ----------------------------------------------------------------------------- key families

CSV_PREFIX = "csv."  # Data tab: one widget per CSV option, "csv.<option>"
CELL_WEIGHT_PREFIX = "cell_w_"  # Cell walkthrough: "cell_w_<gate>_<h|x|b>", the 12 weights
CELL_INPUT_PREFIX = "cell_in_"  # Cell walkthrough: "cell_in_<x|h_prev|c_prev>", one step's inputs
RUNS_PREPARE_PREFIX = "runs_prepare_"  # Runs: "runs_prepare_<fmt>", make an export on request
RUNS_DOWNLOAD_PREFIX = "runs_download_"  # Runs: "runs_download_<fmt>", save an export
JOBS_STOP_PREFIX = "jobs_stop_"  # Runs: "jobs_stop_<job id>", stop one of the server's jobs
SAMPLE_DOWNLOAD_PREFIX = "sample_"  # Data tab: "sample_<file stem>", a shipped sample's file


# ----------------------------------------------------------------------------- sweeps
# (issue 18: the Sweeps tab, dashboard/tab_sweeps.py, sweep_form.py and sweeping.py)

SWEEP_JOBS = "sweep_jobs"  # {sweep name: [TrainingJob]}: the sweep workers this session started
SWEEP_SHOWN = "sweep_shown"  # Sweeps: the sweep shown (a name in the run store's journal)
SWEEP_SETTINGS = "sweep_settings"  # Sweeps: the settings (config fields) a new sweep sweeps
SWEEP_TRIALS = "sweep_trials"  # Sweeps: a new sweep's trial budget
SWEEP_SAMPLER = "sweep_sampler"  # Sweeps: random, tpe or grid
SWEEP_GRID_POINTS = "sweep_grid_points"  # Sweeps: values per range of a grid
SWEEP_PRUNE = "sweep_prune"  # Sweeps: stop poor trials early (Optuna's MedianPruner)
SWEEP_WORKERS = "sweep_workers"  # Sweeps: worker processes (each takes a training slot)
SWEEP_NAME = "sweep_name"  # Sweeps: a new sweep's name
SWEEP_START = "sweep_start"  # Sweeps: start the sweep
SWEEP_START_ASKED = "sweep_start_asked"  # a click of it not yet acted on (state.pressed)
SWEEP_STOP = "sweep_stop"  # Sweeps: stop this page's workers of the sweep shown
SWEEP_RESUME = "sweep_resume"  # Sweeps: more workers on an unfinished sweep
SWEEP_OPEN_TRIAL = "sweep_open_trial"  # Sweeps: the best trial whose run to open
SWEEP_OPEN = "sweep_open"  # Sweeps: open that run in the other tabs
SWEEP_CURVES = "sweep_curves"  # Sweeps: the trials whose loss curves are overlaid
SWEEP_EVALUATOR = "sweep_evaluator"  # Sweeps: importances by fANOVA or PED-ANOVA
SWEEP_RANGE_PREFIX = "sweep_range_"  # Sweeps: "sweep_range_<field>.<low|high|log|choices>"


def dataset_option(dataset: str, option: str) -> str:
    """Sidebar widget (and URL parameter) of a dataset option, scoped to the dataset so that two
    datasets' options with one name but different ranges never share a value."""
    return f"{re.sub(r'[^a-z0-9]+', '_', dataset.lower()).strip('_')}.{option}"


# ----------------------------------------------------------------------------- why LSTM
# (issue 16: the cell picker, the Gradients tab, Compare cells, the walkthrough per cell)

CELL = "cell"  # sidebar: the recurrent cell, ModelConfig.cell (also ?cell=)
GRAD_EPOCH = "grad_epoch"  # Gradients: the snapshot epoch whose weights are used
GRAD_OTHERS = "grad_others"  # Gradients: overlay the other cells trained on the experiment
CELLS_JOBS = "cells_jobs"  # the Compare cells jobs of this session: {"group", "jobs"}
CELLS_GROUP = "cells_group"  # Compare cells: the comparison shown (its tag in run labels)
CELLS_CHOSEN = "cells_chosen"  # Compare cells: the cells to train
CELLS_GREFF = "cells_greff"  # Compare cells: add the LSTM variants of Greff et al.
CELLS_TRAIN = "cells_train"  # Compare cells: train the chosen cells
CELLS_TRAIN_ASKED = "cells_train_asked"  # a click of it not yet acted on (state.pressed)
CELLS_STOP = "cells_stop"  # Compare cells: stop the comparison's jobs
CELLS_PICK = "cells_pick"  # Compare cells: the comparison to show, among those in the store
CELLS_OPEN_RUN = "cells_open_run"  # Compare cells: which of its runs to open
CELLS_OPEN = "cells_open"  # Compare cells: open that run in the other tabs
