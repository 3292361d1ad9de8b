"""What a command line asked for, as the composition root reads it.

Its own module so that ``cli`` (which fills it) and ``app`` (which runs it) both import it and
neither imports the other's module for it. Light: no DICOM library is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Options:
    """What the command line asked for: the settings it named (applied by ``cli.main``) and the mode."""

    settings: list[tuple[str, str]] = field(default_factory=list)  # (setting, value) in order
    commands: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # -k, applied after the query file, in order
    query_files: list[str] = field(default_factory=list)
    demo: bool = False
    peer: tuple[str, str] | None = None
    node: str | None = None  # -n NAME: a node of the config file's node book
    log_config: Path | None = None
    mode: str = "shell"  # shell | get | find | echo | run | serve | help | version | init-config
    help_for: str = "shell"  # --help: the mode whose help is asked for (serve has its own)
    show_arguments: bool = False  # --arguments: print the expanded command line (as DCMTK)
    expanded: list[str] = field(default_factory=list)  # argv after @file expansion
    run_words: list[str] = field(default_factory=list)  # getsh run: the 'source' command's words
    extract: bool = False  # getsh find -X: each response as rspNNNN.dcm in the output directory
    cancel: int | None = None  # getsh find --cancel N: C-CANCEL after N responses
    serve_port: int = 0
    serve_aet: str = "GETSH-DEMO"
    serve_require_aet: bool = False
    serve_move_dests: list[tuple[str, str, int]] = field(default_factory=list)  # --move-dest AE=HOST:PORT
    serve_no_get: bool = False  # --no-get: the demo archive offers C-MOVE only

    serve_tls: tuple[str, str] | None = None  # getsh serve --tls KEY CERT: the demo archive over TLS
    serve_trust: str = ""  # +cf: the CA of the clients' certificates
    serve_require_client_cert: bool = False
    serve_move_tls: bool = False  # --move-tls: the demo's C-MOVE associations over TLS too

    serve_users: list[str] = field(default_factory=list)  # --require-user NAME[:SOURCE]: the demo wants an identity
    serve_tokens: list[str] = field(default_factory=list)  # --require-jwt SOURCE
