"""The layers hold: the protocol layer is UI-free and imports nothing of the shell, no module takes part
in an import cycle, and dicom/ stays in its sub-packages."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import getsh.dicom
from tests.import_graph import PACKAGE_ROOT, cycles, imports, modules, private_uses

# What the protocol layer may use of the rest of getsh: errors and exit statuses (values it raises and
# reports), the lazy-export helper, and the package itself (its version).
DICOM_MAY_IMPORT = ("getsh", "getsh.errors", "getsh.exitstatus", "getsh.lazy")
MAX_LOOSE_DICOM_MODULES = 4


def test_dicom_layer_imports_no_ui_library() -> None:
    modules = [m.name for m in pkgutil.walk_packages(getsh.dicom.__path__, "getsh.dicom.")]
    assert "getsh.dicom.net.association" in modules and "getsh.dicom.demo.server" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'prompt_toolkit'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"getsh.dicom imported UI modules: {result.stdout}"


def test_the_command_line_and_first_prompt_do_not_wait_for_the_dicom_libraries() -> None:
    """pydicom (with numpy) and pynetdicom are most of start-up: the command line parser and the
    deferred shell must not import them (shell/deferred.py loads them behind the prompt)."""
    code = (
        "import sys\n"
        "import getsh.cli, getsh.shell.deferred\n"
        "from getsh.cli import parse_args\n"
        "from getsh.settings import SETTINGS, Settings\n"
        "parse_args(['-aet', 'ME', '+xr', '-od', '.'])\n"
        "Settings()\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('pydicom', 'pynetdicom', 'numpy'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"imported at start-up: {result.stdout[:300]}"


def test_no_import_cycles_even_under_type_checking_or_inside_functions() -> None:
    edges: dict[str, set[str]] = {}
    for found in imports():
        edges.setdefault(found.module, set()).add(found.target)
    assert cycles(edges) == [], "import cycles (one module in each must hold something else)"


def test_the_protocol_layer_imports_nothing_of_the_shell_commands_or_session() -> None:
    bad = [f"{i.module}:{i.line} imports {i.target}" for i in imports()
           if i.module.startswith("getsh.dicom") and not i.target.startswith("getsh.dicom")
           and i.target not in DICOM_MAY_IMPORT]
    assert bad == [], "getsh.dicom may import only " + ", ".join(DICOM_MAY_IMPORT)


def test_the_import_graph_sees_what_python_sees() -> None:
    """The graph test above can only fail if the reader finds the imports: check it on known ones."""
    found = {(i.module, i.target) for i in imports()}
    assert ("getsh.runner", "getsh.registry") in found
    assert ("getsh.dicom.retrieve.run", "getsh.dicom.storage.store") in found or \
        ("getsh.dicom.retrieve.run", "getsh.dicom.storage") in found
    assert "getsh.dicom.net.association" in modules()
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_dicom_keeps_its_modules_in_sub_packages() -> None:
    loose = sorted(p.stem for p in (PACKAGE_ROOT / "dicom").glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= MAX_LOOSE_DICOM_MODULES, f"loose modules in getsh/dicom/: {loose}"


def test_no_module_uses_another_modules_private_names(tmp_path: Path) -> None:
    assert private_uses() == []
    # the check sees a private call across modules when there is one
    package = tmp_path / "getsh"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "store.py").write_text("class Storage:\n    def _finish(self):\n        pass\n")
    (package / "writer.py").write_text("def commit(storage):\n    return storage._finish()\n")
    assert private_uses(package) == ["getsh.writer:2 reads storage._finish (private to getsh.store)"]


def test_the_shell_does_not_import_the_composition_root() -> None:
    bad = [f"{i.module}:{i.line} imports {i.target}" for i in imports()
           if i.module.startswith("getsh.shell") and i.target in ("getsh.app", "getsh.cli")]
    assert bad == [], "shell/ is handed what it needs by app/cli, it does not import them"


def test_one_place_makes_prompt_sessions() -> None:
    """One front door (issue 12): every PromptSession is made by shell/prompting.new_session."""
    made = [f"{p.relative_to(PACKAGE_ROOT)}:{n}" for p in sorted(PACKAGE_ROOT.rglob("*.py"))
            for n, line in enumerate(p.read_text().splitlines(), 1) if "PromptSession(" in line]
    assert len(made) == 1 and made[0].startswith("shell/prompting.py:"), made
