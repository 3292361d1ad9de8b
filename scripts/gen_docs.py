#!/usr/bin/env python3
"""Regenerate docs/commands.md and docs/settings.md from the registry and the settings table."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from getsh.reference import PAGES  # noqa: E402


def main() -> int:
    for relative, generate in PAGES.items():
        path = ROOT / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generate(), encoding="utf-8")
        print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
