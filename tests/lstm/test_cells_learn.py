"""Every cell learns: a small regression task (the sum of a sequence's inputs, which a cell has
to integrate over the 8 steps), trained through lstm.train on the NumPy backend.

Measured (seeds 0-2, H = 8, 30 epochs of 256 sequences, Adam lr 0.01, clip 1.0): the final
validation MSE is 0.09%-0.8% of the baseline (predicting the mean, 0.95) for every LSTM-family
cell and the GRU, 1.2%-3.5% for the RNN; after the first epoch they were at 26%-93%. Asserted:
below 5% of the baseline, and below a tenth of the first epoch's loss."""

from __future__ import annotations

import pytest

from lstm.config import TrainConfig
from lstm.experiment import model_config_for
from lstm.train import train
from tests.helpers.datasets import sum_dataset
from tests.helpers.problems import CELL_NAMES


@pytest.fixture(scope="module")
def dataset():
    return sum_dataset(n_train=256, n_val=64, seq_len=8, scale=0.25, seed=3)


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_every_cell_learns_to_sum_a_sequence(dataset, cell):
    model_cfg = model_config_for(dataset, hidden_size=8, cell=cell)
    run = train(dataset, model_cfg, TrainConfig(epochs=30, batch_size=16, lr=0.01, seed=0))
    assert run.status == "completed", run.message
    first, final = run.history[0]["val_loss"], run.final["val_loss"]
    assert final < 0.05 * dataset.baseline_loss, (cell, final, dataset.baseline_loss)
    assert final < 0.1 * first, (cell, final, first)
