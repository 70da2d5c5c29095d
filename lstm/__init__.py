"""LSTM Lab's model library: a from-scratch NumPy LSTM, its PyTorch twin, training and runs.

`import lstm` is cheap: it never imports torch (the Torch backend loads it on first use) and
never imports streamlit.
"""

from lstm.config import ModelConfig, TrainConfig
from lstm.numpy_backend import backward, forward, predict, trace
from lstm.params import from_torch_state_dict, init_params, to_torch_state_dict

__all__ = [
    "ModelConfig",
    "TrainConfig",
    "backward",
    "forward",
    "from_torch_state_dict",
    "init_params",
    "predict",
    "to_torch_state_dict",
    "trace",
    "train",
]


def __getattr__(name: str):
    # the trainer pulls in the run store and data handling; load it when first asked for
    if name == "train":
        from lstm.train import train

        return train
    raise AttributeError(f"module 'lstm' has no attribute {name!r}")
