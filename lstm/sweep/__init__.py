"""Sweeps: which settings matter, seen the way Greff et al. ("LSTM: A Search Space Odyssey",
2017) saw it: random search over the settings, each trial an ordinary run, then fANOVA to split
the validation loss's variance among the settings.

A sweep is an Optuna study (storage + objective, as in Optuna's own examples); the same worker
runs on one machine or many:

    definition = SweepDefinition(dataset=spec, axes=[parse_setting("lr", "1e-4:1e-1:log")])
    create_sweep("lr-adding", definition)          # the run store's journal file by default
    for p in start_workers("lr-adding", workers=2):
        p.wait()
    sweep_table("lr-adding"); importances("lr-adding")

Modules: `space` (axes from the config field specs, the stored definition), `storage` (journal
file or database URL), `study` (create or join, samplers, the shared budget, dead workers'
trials), `worker` (the objective and worker processes),
`results` (tables and importances). `import lstm` does not import this package, and importing it
imports no Optuna until a name that needs it is used.
"""

import importlib

# what each public name's module is: imported on first use, so that `lstm.sweep.space` (read by
# the command line to build its flags) does not import Optuna, pandas or the trainer
_HOME = {
    "best_trials": "results",
    "importances": "results",
    "list_sweeps": "results",
    "marginals": "results",
    "sweep_table": "results",
    "Axis": "space",
    "SweepDefinition": "space",
    "SweepError": "space",
    "parse_setting": "space",
    "sweepable_fields": "space",
    "create_sweep": "study",
    "load_sweep": "study",
    "open_storage": "study",
    "reclaim_dead": "study",
    "set_budget": "study",
    "run_worker": "worker",
    "start_workers": "worker",
}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'lstm.sweep' has no attribute {name!r}")
    return getattr(importlib.import_module(f"lstm.sweep.{_HOME[name]}"), name)


__all__ = [
    "Axis",
    "SweepDefinition",
    "SweepError",
    "best_trials",
    "create_sweep",
    "importances",
    "list_sweeps",
    "load_sweep",
    "marginals",
    "open_storage",
    "parse_setting",
    "reclaim_dead",
    "run_worker",
    "set_budget",
    "start_workers",
    "sweep_table",
    "sweepable_fields",
]
