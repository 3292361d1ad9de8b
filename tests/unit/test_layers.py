"""The protocol layer stays UI-free: importing all of getsh.dicom pulls in neither rich nor prompt_toolkit."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import getsh.dicom


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
