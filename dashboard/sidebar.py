"""The sidebar: the experiment's settings in, an `Experiment` out. Nothing here trains.

Every widget's limits, default and help come from the configs (`lstm.config.field_spec`) or the
dataset's options (`data.dataset_options`); the defaults of the model and training fields are
the chosen dataset's preset (`data.get_preset`). Every setting is bound to the URL's query
parameters (`bind="query-params"`; the dataset through `dashboard.links`), so an experiment is a
link: a widget left at its preset default stays out of the URL, so a link says only what
differs. `bound_params` says what each of those widgets accepts, so that the URL can be checked
(`dashboard.urlparams`) before the widgets read it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field

import streamlit as st

import data
from dashboard import keys, upload, urlparams
from dashboard.keys import MODEL_FIELDS, TRAIN_FIELDS
from dashboard.views import cells as cell_words
from dashboard.widgets import spec_widget
from lstm.backends import BACKENDS
from lstm.config import ModelConfig, TrainConfig, field_spec
from lstm.threads import DEFAULT_THREADS

LABELS = {
    "hidden_size": "hidden units",
    "num_layers": "layers",
    "forget_bias": "forget-gate bias",
    "epochs": "epochs",
    "batch_size": "batch size",
    "lr": "learning rate",
    "optimizer": "optimizer",
    "momentum": "momentum",
    "clip_norm": "gradient clipping norm",
    "seed": "seed",
    "dtype": "float precision",
}
BACKEND_HELP = (
    "numpy: the LSTM written from scratch in NumPy. torch: the same model in PyTorch "
    "(nn.LSTM); PyTorch is loaded the first time you train with it."
)
# a task whose gates visibly do something within seconds: the input gate opens at the two
# marked steps and the cell state holds their values until the end
DEFAULT_DATASET = "adding"
# what each dataset is, in the picker (a name not here shows its description's first sentence)
TAGLINES = {
    "sine": "forecast the next value of noisy waves",
    "adding": "add the two marked numbers: memory across a gap",
    "copy": "replay a few symbols after a long gap",
    "temporal_order": "which came first, X or Y, among distractors",
    "reber": "predict the next letter of a grammar",
    "parity": "is the number of 1s so far odd or even",
    "statquest": "the Cell walkthrough's two tiny sequences",
    "sample:sunspots": "yearly sunspot numbers, 1700-2008",
    "sample:nile": "yearly flow of the Nile, 1871-1970",
    "sample:co2": "weekly CO2 at Mauna Loa, 1958-2001",
    upload.UPLOAD: "your own CSV file of sequences or a series",
}
THREADS_HELP = (
    "Threads each training process gives NumPy's BLAS and PyTorch. 1 is the steady choice on a "
    "shared machine and rarely slower at these sizes; more threads fight other work for the "
    "cores and make timings erratic."
)


@dataclass
class Experiment:
    """What the sidebar says to train: dataset, its options, backend, model and train fields."""

    dataset: str  # a name from data.list_datasets(), or upload.UPLOAD
    dataset_options: dict  # the dataset's options; for an upload, the CSV options chosen
    backend: str
    model: dict  # ModelConfig fields besides those the dataset fixes
    train: dict  # TrainConfig fields
    upload: dict | None = None  # {"name", "bytes", "digest"} when dataset == UPLOAD
    errors: list[str] = field(default_factory=list)
    threads: int = DEFAULT_THREADS  # BLAS/OpenMP/torch threads of the training process

    @property
    def spec(self) -> dict | None:
        """The dataset as `data.dataset_from_spec` takes it (None: no file uploaded yet)."""
        if self.dataset != upload.UPLOAD:
            return {"name": self.dataset, "options": dict(self.dataset_options)}
        if self.upload is None:
            return None
        return {"name": "csv", "options": dict(self.dataset_options),
                "filename": self.upload["name"]}  # fmt: skip

    def configs(self, dataset) -> tuple[ModelConfig, TrainConfig]:
        """(ModelConfig, TrainConfig) for `dataset`: `lstm.experiment.configs_for` with every
        model and train field the sidebar sets."""
        from lstm.experiment import configs_for

        # configs_for reads None as "not chosen": clipping "off" (0) travels as 0, is stored
        # as None as before
        model_cfg, train_cfg = configs_for(dataset, model=self.model, train=self.train)
        if not train_cfg.clip_norm:
            train_cfg = dataclasses.replace(train_cfg, clip_norm=None)
        return model_cfg, train_cfg

    @property
    def name(self) -> str:
        """The dataset as a person calls it: the uploaded file's name, or the dataset's."""
        return self.upload["name"] if self.upload else self.dataset


class PresetWriteFilter(logging.Filter):
    """Drops Streamlit's "created with a default value but also had its value set via the
    Session State API" warning for the model and training fields, where both are on purpose:
    a new dataset writes its preset into them (`_apply_preset`), and each widget keeps the
    preset as its default so that the URL holds only what differs from it. Any other widget's
    warning passes."""

    name = "lstm-lab-preset-write"
    MESSAGE = "was created with a default value but also had its value set via the Session"

    def filter(self, record: logging.LogRecord) -> bool:
        if self.MESSAGE not in str(record.msg):
            return True
        key = record.args[0] if isinstance(record.args, tuple) and record.args else None
        return key not in MODEL_FIELDS + TRAIN_FIELDS


def _install_preset_write_filter() -> None:
    logger = logging.getLogger("streamlit.elements.lib.policies")
    if not any(getattr(f, "name", None) == PresetWriteFilter.name for f in logger.filters):
        logger.addFilter(PresetWriteFilter())


_install_preset_write_filter()


def tagline(name: str) -> str:
    """One line saying what dataset `name` is."""
    if name in TAGLINES:
        return TAGLINES[name]
    try:
        text = data.describe_dataset(name)
    except ValueError:
        return ""
    first = text.split(". ")[0].split(": tests ")[-1]
    return first if len(first) <= 60 else first[:59] + "…"


def dataset_label(name: str) -> str:
    """The picker's label: the name and what it is (?dataset= holds the name alone)."""
    title = "Upload CSV…" if name == upload.UPLOAD else name
    line = tagline(name)
    return f"{title} — {line}" if line else title


def max_threads() -> int:
    return max(1, os.cpu_count() or 1)


def bound_params(dataset: str) -> dict[str, urlparams.Param]:
    """What each sidebar widget bound to the URL accepts, for `dataset` (its options included),
    with the default it falls back to."""
    defaults = preset_defaults(dataset)
    params = {keys.BACKEND: urlparams.Param("choice", choices=tuple(BACKENDS),
                                            default=BACKENDS[0])}  # fmt: skip
    for cls, names in ((ModelConfig, MODEL_FIELDS), (TrainConfig, TRAIN_FIELDS)):
        for name in names:
            params[name] = urlparams.param_for(field_spec(cls, name), defaults[name])
    params[keys.THREADS] = urlparams.Param("int", 1, max_threads(), default=DEFAULT_THREADS)
    params[keys.CELL] = urlparams.param_for(field_spec(ModelConfig, "cell"),
                                            cell_words.DEFAULT_CELL)  # fmt: skip
    if dataset != upload.UPLOAD:
        try:
            specs = data.dataset_options(dataset)
        except ValueError:
            specs = {}
        tuned = data.get_preset(dataset).get("options") or {}
        for name, spec in specs.items():
            default = tuned.get(name, spec.default)
            params[keys.dataset_option(dataset, name)] = urlparams.param_for(spec, default)
    return params


def preset_defaults(dataset: str) -> dict:
    """Model and train field defaults for `dataset`: its preset over the config defaults."""
    preset = data.get_preset("csv" if dataset == upload.UPLOAD else dataset)
    values = {}
    for cls, names, part in (
        (ModelConfig, MODEL_FIELDS, "model"),
        (TrainConfig, TRAIN_FIELDS, "train"),
    ):
        for name in names:
            value = (preset.get(part) or {}).get(name, field_spec(cls, name).default)
            if name == "clip_norm" and value is None:
                value = 0.0
            values[name] = value
    return values


def _apply_preset() -> None:
    """Dataset changed: its preset becomes every model and train field's value."""
    dataset = st.session_state.get(keys.DATASET)
    if dataset is None:
        return
    try:
        defaults = preset_defaults(dataset)
    except ValueError:
        return
    for name, value in defaults.items():
        st.session_state[name] = value


def _field(cls, name: str, default, container, **kwargs):
    return spec_widget(
        field_spec(cls, name),
        name,
        default=default,
        label=LABELS[name],
        container=container,
        **kwargs,
    )


def _cell_picker(sb) -> str:
    """The recurrent cell, with what it is and where it comes from under it (and every cell's
    line in its help). Kept when the dataset changes: a preset never sets the cell. The options
    are the bare names: a bound selectbox writes its option's label into the URL."""
    spec = field_spec(ModelConfig, "cell")
    lines = "\n".join(f"- **{name}**: {cell_words.CELL_LINES[name]}" for name in spec.choices)
    cell = sb.selectbox(
        "cell",
        list(spec.choices),
        index=list(spec.choices).index(cell_words.DEFAULT_CELL),
        key=keys.CELL,
        bind="query-params",
        help="The recurrent cell. Compare cells trains several on this experiment; Gradients "
        "shows how far back each one's error reaches.\n\n" + lines,
    )
    sb.caption(cell_words.CELL_LINES[cell])
    return cell


def render(controls) -> Experiment:
    """Draw the settings in the sidebar; `controls` is a sidebar container drawn above them,
    where the app puts Train, Stop and the progress (they need the experiment first)."""
    sb = st.sidebar
    sb.markdown("#### Data")
    names = data.list_datasets() + [upload.UPLOAD]
    if st.session_state.get(keys.DATASET) not in names:  # first run, or a name gone since
        st.session_state[keys.DATASET] = DEFAULT_DATASET if DEFAULT_DATASET in names else names[0]
    dataset = sb.selectbox(
        "dataset",
        names,
        format_func=dataset_label,
        key=keys.DATASET,
        on_change=_apply_preset,
        help="A generated task (each tests one kind of memory), a real series shipped with "
        "the app, or your own CSV file. The Data tab says more about the one chosen.",
    )
    file, options, errors = None, {}, []
    if dataset == upload.UPLOAD:
        uploaded = sb.file_uploader(
            "CSV file",
            type=["csv", "tsv", "txt"],
            key=keys.UPLOAD_FILE,
            max_upload_size=upload.MAX_UPLOAD_MB,
            help="One time series per column (rows are time steps), or one sequence per row. "
            "The Data tab shows what was detected and lets you choose the columns.",
        )
        file = upload.upload_info(uploaded)
        options = upload.csv_choices(file)  # drawn in the Data tab, next to the preview
    else:
        try:
            specs = data.dataset_options(dataset)
        except ValueError as exc:
            specs, errors = {}, [str(exc)]
        if specs:
            # the preset's options are the ones its hyperparameters were tuned on
            tuned = data.get_preset(dataset).get("options") or {}
            with sb.expander("dataset options", expanded=False):
                for name, spec in specs.items():
                    options[name] = spec_widget(
                        spec, keys.dataset_option(dataset, name), default=tuned.get(name)
                    )
    defaults = preset_defaults(dataset)

    sb.markdown("#### Model")
    cell = _cell_picker(sb)
    if cell_words.preset_line(dataset, cell):  # what the benchmark says of this preset and cell
        sb.caption(cell_words.preset_line(dataset, cell))
    backend = sb.selectbox(
        "backend", list(BACKENDS), key=keys.BACKEND, help=BACKEND_HELP, bind="query-params"
    )
    model = {"cell": cell}
    for name in MODEL_FIELDS:  # a setting the cell does not use is hidden, and said so
        shown = cell_words.applies(name, cell)
        model[name] = _field(ModelConfig, name, defaults[name], sb) if shown else defaults[name]
    if cell_words.not_used_line(cell):
        sb.caption(cell_words.not_used_line(cell))

    sb.markdown("#### Training")
    train = {}
    for name in TRAIN_FIELDS:
        if name == "momentum" and train.get("optimizer") != "momentum":
            train[name] = defaults[name]
            continue
        train[name] = _field(TrainConfig, name, defaults[name], sb)
    threads = sb.number_input(
        "CPU threads",
        min_value=1,
        max_value=max_threads(),
        value=DEFAULT_THREADS,
        step=1,
        key=keys.THREADS,
        help=THREADS_HELP,
        bind="query-params",
    )
    return Experiment(
        dataset=dataset,
        dataset_options=options,
        backend=backend,
        model=model,
        train=train,
        upload=file,
        errors=errors,
        threads=int(threads),
    )
