"""Datasets for LSTM Lab: generated classic tasks, shipped real series, and CSV upload.

Never imports `lstm` or streamlit: it produces arrays and a `Dataset` describing them.
"""

from data.dataset import DataError, Dataset

__all__ = ["DataError", "Dataset"]
