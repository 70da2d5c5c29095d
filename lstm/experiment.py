"""An experiment's configs, built one way for every front end (command line, dashboard,
benchmarks): the dataset's preset (`data.get_preset`), then what the user chose over it.

    options = preset_options("adding", {"seq_len": 100})    # dataset options over the preset's
    dataset = data.load_dataset("adding", **options)
    model_cfg, train_cfg = configs_for(dataset, model={"hidden_size": 64}, train={"epochs": 5})
"""

from __future__ import annotations

from lstm.config import ModelConfig, TrainConfig

# ModelConfig fields the dataset decides; a preset or a user never sets them
FROM_DATASET = ("input_size", "output_size", "task", "target")


def _preset(name: str, dataset=None) -> dict:
    import data  # lazily: `import lstm` stays free of pandas

    return data.get_preset(name, dataset)


def preset_options(name: str, options: dict | None = None) -> dict:
    """Dataset options for `load_dataset(name, ...)`: the preset's (what it was tuned on), then
    `options` over them. Samples and CSV files have no preset options."""
    return {**(_preset(name).get("options") or {}), **(options or {})}


def model_config_for(dataset, **overrides) -> ModelConfig:
    """A ModelConfig whose input_size, output_size, task and target come from the dataset;
    an override that contradicts the dataset is a ValueError."""
    fixed = {name: getattr(dataset, name) for name in FROM_DATASET}
    clash = {k: v for k, v in overrides.items() if k in fixed and v != fixed[k]}
    if clash:
        name, value = next(iter(clash.items()))
        raise ValueError(
            f"{name}={value!r} does not fit the dataset {dataset.name!r}, which has "
            f"{name}={fixed[name]!r}"
        )
    return ModelConfig(**{**overrides, **fixed})


def configs_for(dataset, model: dict | None = None, train: dict | None = None,
                preset: str | None = None) -> tuple[ModelConfig, TrainConfig]:  # fmt: skip
    """(ModelConfig, TrainConfig) for `dataset`: the preset of `preset` (default: the dataset's
    name from its spec), with the fields in `model` / `train` over it. None values are
    "not chosen" and leave the preset's value."""
    name = preset or (dataset.spec or {}).get("name") or dataset.name
    chosen = _preset(name, dataset)  # a sample's or a CSV file's preset is sized to its data
    parts = []
    for part, values in (("model", model), ("train", train)):
        merged = {k: v for k, v in (chosen.get(part) or {}).items() if k not in FROM_DATASET}
        merged.update({k: v for k, v in (values or {}).items() if v is not None})
        parts.append(merged)
    return model_config_for(dataset, **parts[0]), TrainConfig(**parts[1])
