"""LSTM Lab's model library: from-scratch NumPy recurrent cells (the LSTM, its variants, a GRU
and an RNN), their PyTorch twins, training and runs.

`import lstm` is cheap: it never imports torch (the Torch backend loads it on first use), pandas
or streamlit.

`lstm.train` is the training function; `from lstm.train import ...` reaches its module.
"""

from lstm.config import ModelConfig, TrainConfig
from lstm.gradients import input_gradient
from lstm.numpy_backend import backward, forward, predict, trace
from lstm.params import from_torch_state_dict, init_params, to_torch_state_dict
from lstm.train import train

__all__ = [
    "ModelConfig",
    "TrainConfig",
    "backward",
    "forward",
    "from_torch_state_dict",
    "init_params",
    "input_gradient",
    "predict",
    "to_torch_state_dict",
    "trace",
    "train",
]
