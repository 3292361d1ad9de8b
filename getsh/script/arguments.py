"""The ``source`` command's arguments, declared where the command line can read them at start-up.

``getsh run FILE …`` is ``source FILE …`` from the command line, so both read these declarations:
commands/script.py declares ``source`` with them, and cmdline/modes.py builds ``getsh run``'s options from
them (a positional's option spelling comes from ``RUN_SPELLINGS``). This module stays light —
neither pydicom nor pynetdicom — because the command line is parsed before they load.
"""

from __future__ import annotations

from getsh.completion.arguments import paths
from getsh.registry import Arg
from getsh.script.reading import variable

SOURCE = "source"


SOURCE_ARGS = (
    Arg("file", "the script", complete=paths, metavar="FILE"),
    Arg("variables", "values for ${NAME} in the script (the environment gives the rest)", type=variable, many=True,
        required=False, metavar="NAME=VALUE"),
    Arg("keep_going", "go on after a failure (the exit status still says it)", option="--keep-going", flag=True),
    Arg("dry_run", "read and parse every line; run nothing, send nothing", option="--dry-run", flag=True),
    Arg("step", "ask before each command: y(es), n(o: skip), q(uit)", option="--step", flag=True),
    Arg("junit", "also write a JUnit XML report here (a testcase per command and per expect)", option="--junit",
        complete=paths, metavar="FILE"),
)

# on the command line, a positional argument of 'source' is an option: getsh run FILE --var NAME=VALUE
RUN_SPELLINGS = {"variables": "--var"}
