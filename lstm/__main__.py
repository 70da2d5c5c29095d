"""`python -m lstm`: see lstm/cli.py."""

from lstm.cli import main

raise SystemExit(main())
