"""Suggested model and training settings per dataset, sized to train in under a minute on two
cores with the NumPy backend.

`get_preset(name)` returns {"model": {...}, "train": {...}}: ModelConfig and TrainConfig field
values. The dataset decides input_size, output_size, task and target, so they are never here.
"""

from __future__ import annotations

import copy

GENERIC = {
    "model": {"hidden_size": 32, "num_layers": 1, "forget_bias": 1.0},
    "train": {"epochs": 20, "batch_size": 32, "lr": 0.01, "optimizer": "adam", "clip_norm": 1.0},
}

PRESETS = {
    # why each differs from GENERIC is in its comment
    "sine": {"train": {"epochs": 15}},  # short windows, smooth targets: learns fast
    "adding": {"train": {"epochs": 25, "lr": 0.005}},  # a flat start; a smaller step avoids spikes
    "copy": {"model": {"hidden_size": 64}, "train": {"epochs": 30}},  # five symbols to hold
    "temporal_order": {"train": {"epochs": 25}},
    "reber": {"model": {"hidden_size": 24}, "train": {"epochs": 20}},
    "parity": {"model": {"hidden_size": 16}, "train": {"epochs": 15}},
    # two sequences: full-batch steps, many epochs, a few units as in the worked example
    "statquest": {
        "model": {"hidden_size": 4},
        "train": {"epochs": 300, "batch_size": 2, "lr": 0.05},
    },
    # real series are small and noisy: a smaller step, more epochs
    "sample": {"train": {"epochs": 40, "lr": 0.005, "batch_size": 16}},
    "csv": {"train": {"epochs": 30, "lr": 0.005}},
}


def get_preset(name: str) -> dict:
    """Suggested {"model": {...}, "train": {...}} for a dataset; unknown names get GENERIC."""
    key = "sample" if str(name).startswith("sample:") else str(name)
    key = "csv" if key.startswith("csv:") else key
    preset = copy.deepcopy(GENERIC)
    for part, values in PRESETS.get(key, {}).items():
        preset[part].update(values)
    return preset
