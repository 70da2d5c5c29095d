"""Datasets for LSTM Lab: generated classic tasks, shipped real series, and CSV upload.

Never imports `lstm` or streamlit: it produces arrays and a `Dataset` describing them.

    list_datasets() -> list[str]
    load_dataset(name, **options) -> Dataset
    dataset_from_spec(spec, source=None) -> Dataset     (rebuilds a Dataset from its .spec)
    dataset_options(name) -> dict[str, OptionSpec]
    describe_dataset(name) -> str
    dataset_from_csv(source, **options) -> Dataset      (path, bytes or binary file object)
    dataset_from_spec(spec, source=None) -> Dataset     (rebuild from Dataset.spec)
    run_spec(spec) -> spec                              (a saved run's spec, older runs too)
    csv_options() -> dict[str, OptionSpec]
    csv_column_names(source, sep="auto", header="auto") -> list[str]
    csv_preview(source, nrows=12, sep="auto", header="auto") -> pandas.DataFrame of str
    get_preset(name) -> {"model": {...}, "train": {...}}

Bad input of any kind raises DataError (a ValueError) with a message a person can act on.
"""

from data.csv import LIMITS, csv_column_names, csv_options, csv_preview, dataset_from_csv
from data.dataset import DataError, Dataset
from data.options import OptionSpec
from data.presets import get_preset
from data.registry import (
    dataset_from_spec,
    dataset_options,
    describe_dataset,
    list_datasets,
    load_dataset,
    run_spec,
    sample_path,
)

__all__ = [
    "LIMITS",
    "DataError",
    "Dataset",
    "OptionSpec",
    "csv_column_names",
    "csv_options",
    "csv_preview",
    "dataset_from_csv",
    "dataset_from_spec",
    "dataset_options",
    "describe_dataset",
    "get_preset",
    "list_datasets",
    "load_dataset",
    "run_spec",
    "sample_path",
]
