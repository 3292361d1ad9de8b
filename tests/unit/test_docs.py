"""The reference pages are generated from the code; this fails when someone forgets to regenerate."""

from pathlib import Path

import pytest

from getsh.reference import PAGES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_reference_page_matches_the_code(page: str) -> None:
    on_disk = (ROOT / page).read_text(encoding="utf-8")
    assert on_disk == PAGES[page](), f"{page} is stale: run scripts/gen_docs.py"


def test_every_command_is_documented() -> None:
    from getsh.registry import REGISTRY

    text = (ROOT / "docs/commands.md").read_text(encoding="utf-8")
    for command in REGISTRY:
        assert f"### `{command.name}`" in text
