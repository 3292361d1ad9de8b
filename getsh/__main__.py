"""``python -m getsh``."""

from getsh.cli import main

raise SystemExit(main())
