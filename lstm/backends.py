"""The backends by name: the one list of names every front end offers (the CLI's choices, the
dashboard's picker, the benchmarks), and where each implementation is found.

Implementations are imported when first asked for, so `import lstm` never imports torch.
"""

from __future__ import annotations

import importlib

from lstm.backend import Backend

# name -> "module:class"; the order is the order front ends offer them in
_IMPLEMENTATIONS = {
    "numpy": "lstm.numpy_backend:NumpyBackend",
    "torch": "lstm.torch_backend:TorchBackend",
}
BACKENDS = tuple(_IMPLEMENTATIONS)


def get(name: str) -> type[Backend]:
    """The Backend class called `name`; its module (torch's included) is imported here."""
    if name not in _IMPLEMENTATIONS:
        raise ValueError(f"backend={name!r} is invalid: must be one of {', '.join(BACKENDS)}")
    module, cls = _IMPLEMENTATIONS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def create(name: str, model_cfg, train_cfg, params: dict, **options) -> Backend:
    """Build backend `name`; options (e.g. device="cpu" for torch) go to its constructor."""
    return get(name)(model_cfg, train_cfg, params, **options)
