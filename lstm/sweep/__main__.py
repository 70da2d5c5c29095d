"""`python -m lstm.sweep NAME [--storage URL] [--runs-dir DIR]`: one worker process of a sweep
(see lstm/sweep/worker.py; `python -m lstm sweep` starts these)."""

from lstm.sweep.worker import main

raise SystemExit(main())
