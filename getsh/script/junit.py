"""The JUnit XML report of a replay, for CI: one testcase per script line."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from getsh.script.reading import SUFFIX


@dataclass(frozen=True)
class Case:
    """One script line in the report: a command or an expectation, and how it ended."""

    where: str
    text: str
    kind: str  # command | expectation | script
    result: str  # passed | failure | error | skipped
    message: str = ""
    detail: str = ""
    seconds: float = 0.0


def junit_xml(path: str, cases: Sequence[Case], seconds: float) -> bytes:
    """A JUnit XML report: one testsuite per script, one testcase per line (command or expect).

    An expectation that did not hold is a <failure>; a command that failed, or a line that
    does not parse, an <error>; a line not run because the replay stopped, <skipped>.
    """
    counts = {kind: sum(1 for c in cases if c.result == kind) for kind in ("failure", "error", "skipped")}
    attributes = {"tests": str(len(cases)), "failures": str(counts["failure"]), "errors": str(counts["error"]),
                  "skipped": str(counts["skipped"]), "time": f"{seconds:.3f}"}
    root = ET.Element("testsuites", {"name": "getsh", **attributes})
    suite = ET.SubElement(root, "testsuite", {"name": path, **attributes,
                                              "timestamp": datetime.now().astimezone().isoformat(timespec="seconds")})
    classname = Path(path).name.removesuffix(SUFFIX)
    for case in cases:
        file, _, line = case.where.rpartition(":") if case.where.rpartition(":")[2].isdigit() else (case.where, "", "")
        element = ET.SubElement(suite, "testcase", {
            "classname": classname, "name": f"line {line or 0}: {case.text or case.message}",
            "file": file, "line": line or "0", "time": f"{case.seconds:.3f}",
        })
        if case.result in ("failure", "error"):
            child = ET.SubElement(element, case.result, {"message": case.message, "type": case.kind})
            child.text = case.detail or case.message
        elif case.result == "skipped":
            ET.SubElement(element, "skipped", {"message": case.message})
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
