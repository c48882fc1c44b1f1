"""``python -m liqwatch.cli``."""

from liqwatch.cli import main

raise SystemExit(main())
