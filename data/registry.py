"""Every dataset by name: the generated tasks, then the shipped samples (`sample:<stem>`).

`load_dataset(name, **options)` checks the options against `dataset_options(name)`, builds the
data, and records `spec = {"name": name, "options": {all options, defaults filled in}}` so
`load_dataset(spec["name"], **spec["options"])` rebuilds the same arrays.
Samples are CSV files in data/samples/, read by `dataset_from_csv` exactly like an upload.
`dataset_from_spec(spec, source=None)` rebuilds any Dataset from its spec (a CSV one needs its
file again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from data import adding, memory, reber, tasks, temporal_order
from data.common import doc_paragraph
from data.csv import CSV_OPTIONS, dataset_from_csv
from data.dataset import DataError, Dataset
from data.options import OptionSpec, resolve_options
from data.presets import solved_thresholds

GENERATORS: dict[str, tuple[Callable[..., Dataset], dict[str, OptionSpec]]] = {
    "sine": (tasks.sine, tasks.SINE_OPTIONS),
    "adding": (adding.adding, adding.ADDING_OPTIONS),
    "copy": (memory.copy, memory.COPY_OPTIONS),
    "temporal_order": (temporal_order.temporal_order, temporal_order.TEMPORAL_ORDER_OPTIONS),
    "reber": (reber.reber, reber.REBER_OPTIONS),
    "parity": (tasks.parity, tasks.PARITY_OPTIONS),
    "statquest": (tasks.statquest, tasks.STATQUEST_OPTIONS),
}

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
SAMPLE_PREFIX = "sample:"
# per-sample description and default window (None: chosen for the data, at least one season,
# as for an upload); a CSV dropped into samples/ without an entry here still loads
SAMPLE_INFO = {
    "sunspots": (
        "Yearly mean sunspot numbers, 1700-2008 (309 values; NOAA National Geophysical Data "
        "Center, public domain, via statsmodels). The roughly 11-year solar cycle with varying "
        "peaks makes it a classic forecasting benchmark: its season (the cycle, about 11 years) is "
        "found from the data, and the window spans it.",
        None,
    ),
    "nile": (
        "Annual flow of the Nile at Aswan, 1871-1970 (100 values, in 10^8 m^3; Cobb 1978, "
        "public domain, via statsmodels). Short and noisy with a drop near 1898: a lesson in "
        "how little 100 points can teach, and how hard it is to beat repeating the last value.",
        None,
    ),
    "co2": (
        "Weekly atmospheric CO2 at Mauna Loa, March 1958 - December 2001 (2284 weeks, ppmv; "
        "Keeling & Whorf, public domain, via statsmodels), with 59 missing weeks that are "
        "interpolated. A seasonal cycle on a rising trend: validation values lie above anything "
        "in training, which a model of the changes from the last value takes in its stride.",
        None,
    ),
}
CSV_DESCRIPTION = (
    "Your own CSV file (up to 50 MB): a time series whose rows are time steps (windows forecast "
    "the next values; validation is the last part), one sequence per row with an optional "
    "label, or long format (an id, a time, values; one sequence per id). The layout, separator, "
    "decimal mark, encoding, date and label columns are detected and can be overridden; gaps "
    "are interpolated and every step is listed in the notes."
)
SAMPLE_OPTION_NAMES = (
    "window", "horizon", "stride", "period", "predict", "fill_gaps", "val_fraction", "normalize",
)  # fmt: skip


def list_datasets() -> list[str]:
    """Generated tasks first, then the shipped samples as `sample:<file stem>`."""
    samples = sorted(p.stem for p in SAMPLES_DIR.glob("*.csv"))
    return list(GENERATORS) + [SAMPLE_PREFIX + stem for stem in samples]


def sample_path(name: str) -> Path:
    """The CSV file behind `sample:<stem>` (for a download button, or to read it yourself)."""
    stem = name[len(SAMPLE_PREFIX) :] if name.startswith(SAMPLE_PREFIX) else name
    path = SAMPLES_DIR / f"{stem}.csv"
    if "/" in stem or "\\" in stem or not path.is_file():
        raise DataError(_unknown(name))
    return path


def dataset_options(name: str) -> dict[str, OptionSpec]:
    """Each option's default, range or choices, and help."""
    if name in GENERATORS:
        return dict(GENERATORS[name][1])
    if name.startswith(SAMPLE_PREFIX):
        path = sample_path(name)
        specs = {k: CSV_OPTIONS[k] for k in SAMPLE_OPTION_NAMES}
        window = SAMPLE_INFO.get(path.stem, ("", None))[1]
        if window is not None:
            specs["window"] = replace(specs["window"], default=window)
        return specs
    if name == "csv":
        return dict(CSV_OPTIONS)
    raise DataError(_unknown(name))


def describe_dataset(name: str) -> str:
    """One paragraph: what the dataset is, what it tests, and what solved looks like."""
    if name in GENERATORS:
        return doc_paragraph(GENERATORS[name][0])
    if name.startswith(SAMPLE_PREFIX):
        path = sample_path(name)
        info = SAMPLE_INFO.get(path.stem)
        return info[0] if info else f"A real series shipped as {path.name}."
    if name == "csv":
        return CSV_DESCRIPTION
    raise DataError(_unknown(name))


def load_dataset(name: str, **options) -> Dataset:
    """Build a dataset by name; unknown names or options, or bad values, raise DataError."""
    if not isinstance(name, str):
        raise DataError(f"a dataset name must be text, got {type(name).__name__}")
    if name == "csv":
        raise DataError("a CSV dataset needs its file: use dataset_from_csv(file, **options)")
    specs = dataset_options(name)
    resolved = resolve_options(specs, options, f"dataset {name!r}")
    if name in GENERATORS:
        dataset = GENERATORS[name][0](**resolved)
    else:
        dataset = dataset_from_csv(sample_path(name), **resolved)
        dataset.description = describe_dataset(name) + " " + dataset.description
    dataset.name = name
    dataset.spec = {"name": name, "options": resolved}
    dataset.thresholds = solved_thresholds(name, resolved)
    return dataset


def dataset_from_spec(spec: dict, source=None) -> Dataset:
    """The Dataset that `spec` (a `Dataset.spec`, or a run's dataset record) describes.

    `{"name": name, "options": {...}}` rebuilds a generated task or a shipped sample;
    `{"name": "csv", "options": {...}, "filename": ...}` reads `source` (the file's path, bytes
    or binary file object) with those options. Same spec and file, same arrays. Keys other than
    name, options and filename (a run's "summary") are ignored. DataError for a spec that is
    not one, an unknown name or option, and a CSV spec without its file."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise DataError(
            f"a dataset spec is a dict with a 'name' and its 'options', got {spec!r:.200}"
        )
    name, options = spec["name"], spec.get("options") or {}
    if not isinstance(options, dict):
        raise DataError(f"the spec's options must be a dict, got {options!r:.200}")
    if name != "csv":
        return load_dataset(name, **options)
    filename = spec.get("filename") or "the uploaded file"
    if source is None:
        raise DataError(
            f"this dataset was read from the CSV file {filename!r}: the file is needed to "
            "rebuild it, pass it as source= (its path or bytes)"
        )
    dataset = dataset_from_csv(source, **options)
    if dataset.spec["filename"] == "upload" and spec.get("filename"):
        # bytes carry no name: keep the one the spec remembers
        dataset.name = "csv:" + spec["filename"]
        dataset.spec["filename"] = spec["filename"]
    return dataset


def run_spec(spec: dict) -> dict:
    """The spec a saved run's dataset record rebuilds as the run was trained on it.

    A run's spec holds every option of its time (Dataset.spec). Runs saved before series were
    predicted as changes (issue 12) lack the `predict` option: their models were trained on
    levels, so their spec gets `predict="level"`. Other specs pass unchanged."""
    if not isinstance(spec, dict):
        return spec
    options = spec.get("options")
    name = str(spec.get("name", ""))
    old_series = (
        isinstance(options, dict)
        and "window" in options
        and "predict" not in options
        and (name == "csv" or name.startswith(SAMPLE_PREFIX))
    )
    if not old_series:
        return spec
    return {**spec, "options": {**options, "predict": "level"}}


def _unknown(name) -> str:
    return f"unknown dataset {name!r}: choose one of {', '.join(list_datasets())}"
