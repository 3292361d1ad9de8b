"""The reference pages are generated from the code, and the architecture page matches the tree: these fail
when someone forgets to regenerate or to update it."""

import re
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


ARCHITECTURE = ROOT / "docs" / "architecture.md"


def _named_paths(text: str) -> set[str]:
    """Every ``getsh/…`` path the page names in backticks (a package ends with /)."""
    return set(re.findall(r"`(getsh(?:/[a-z_]+)*/(?:[a-z_]+\.py)?)", text))


def test_architecture_page_names_every_package_and_only_what_exists() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = _named_paths(text)
    packages = {p.parent.relative_to(ROOT).as_posix() + "/" for p in (ROOT / "getsh").rglob("__init__.py")}
    assert packages - named == set(), "packages missing from docs/architecture.md"
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == [], "docs/architecture.md names what does not exist"
    # the tree table: each package's row names exactly its modules
    rows = dict(re.findall(r"^\| `(getsh(?:/[a-z_]+)*/)` \| (.*) \|$", text, flags=re.M))
    assert set(rows) == packages, "the tree table has one row per package"
    for folder, described in rows.items():
        named_modules = set(re.findall(r"`([a-z_]+\.py)`", described))
        on_disk = {p.name for p in (ROOT / folder).glob("*.py") if p.name != "__init__.py"}
        assert named_modules == on_disk, f"docs/architecture.md, row {folder}: modules differ from the tree"


def test_reliability_page_cites_only_tests_that_exist() -> None:
    """docs/reliability.md holds each case to a test by name: a renamed or removed test fails here."""
    text = (ROOT / "docs" / "reliability.md").read_text()
    sources = {path: path.read_text() for path in (ROOT / "tests").rglob("test_*.py")}
    cited = re.findall(r"`(tests/[\w/]+\.py)((?:::\w+)?)`", text)
    assert len(cited) > 20, "the page no longer names its tests as `tests/…py::name`"
    missing = [f + rest for f, rest in cited
               if (ROOT / f) not in sources or (rest and f"def {rest[2:]}(" not in sources[ROOT / f])]
    names = {a or b for a, b in re.findall(r"`::(test_\w+)`|`(test_\w+)`", text)}
    everywhere = "\n".join(sources.values())
    missing += sorted(n for n in names if f"def {n}(" not in everywhere)
    assert not missing, missing
