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

Modules: `space` (axes from the config field specs, the stored definition), `study` (storage,
the shared budget, dead workers' trials), `worker` (the objective and worker processes),
`results` (tables and importances). `import lstm` does not import this package (nor Optuna).
"""

from lstm.sweep.results import best_trials, importances, list_sweeps, marginals, sweep_table
from lstm.sweep.space import Axis, SweepDefinition, SweepError, parse_setting, sweepable_fields
from lstm.sweep.study import create_sweep, load_sweep, open_storage, reclaim_dead, set_budget
from lstm.sweep.worker import run_worker, start_workers

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
