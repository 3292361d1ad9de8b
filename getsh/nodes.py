"""The node book: named peers in the config file (``[nodes.pacs1]`` host, port, aec, aet, model, notes),
dcm4che's ``AET@host:port``, and the commented config template ``getsh --init-config`` writes.

Light (no DICOM library): ``connect``, ``nodes``, completion and the command line (``-n NAME``) read it.
The file is read again each time it is asked for, so an edit counts from the next command on.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

from getsh.dicom.keys.aetitle import validate_ae_title
from getsh.errors import UsageError, excerpt

SECTION_PREFIX = "nodes."
FIELDS = ("host", "port", "aec", "aet", "model", "notes")
MODELS = ("patient", "study", "psonly")


@dataclass(frozen=True)
class Node:
    """A named peer: where it is, the AE titles and model to use with it, and a note for people."""

    name: str
    host: str
    port: int
    aec: str = ""
    aet: str = ""
    model: str = ""
    notes: str = ""

    @property
    def address(self) -> str:
        """dcm4che's form: ``AEC@host:port`` (the host alone when no called AE title is set)."""
        return f"{self.aec + '@' if self.aec else ''}{self.host}:{self.port}"


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{port} is out of range (1..65535)")
    return port


def node_from(name: str, fields: dict[str, str]) -> Node:
    """A node from its section's fields; ValueError says what is wrong."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    host = fields.get("host", "").strip()
    if not host or any(c.isspace() for c in host):
        raise ValueError("needs a host (host = pacs.example.org)")
    if "port" not in fields:
        raise ValueError("needs a port (port = 104)")
    port = port_number(fields["port"].strip())
    aec, aet = fields.get("aec", "").strip(), fields.get("aet", "").strip()
    for field, title in (("aec", aec), ("aet", aet)):
        if title:
            try:
                validate_ae_title(title)
            except ValueError as exc:
                raise ValueError(f"{field}: {exc}") from None
    model = fields.get("model", "").strip().lower()
    if model and model not in MODELS:
        raise ValueError(f"model: {model!r} is not one of {', '.join(MODELS)}")
    return Node(name, host, port, aec, aet, model, fields.get("notes", "").strip())


def read_nodes(path: Path) -> tuple[dict[str, Node], list[str]]:
    """The nodes of the config file at ``path`` (none when it does not exist), and a warning for each
    section that cannot be used (that node is left out)."""
    if not path.is_file():
        return {}, []
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        return {}, [f"{path}: cannot read: {exc}"]
    nodes: dict[str, Node] = {}
    warnings: list[str] = []
    for section in parser.sections():
        if not section.startswith(SECTION_PREFIX):
            continue
        name = section[len(SECTION_PREFIX):]
        if not name or any(c.isspace() or c in "@:" for c in name):
            warnings.append(f"{path}: [{section}]: a node name is one word without @ or : (ignored)")
            continue
        try:
            nodes[name] = node_from(name, dict(parser.items(section)))
        except ValueError as exc:
            warnings.append(f"{path}: [{section}]: {exc} (ignored)")
    return nodes, warnings


def parse_address(text: str) -> tuple[str, str, int] | None:
    """dcm4che's ``AET@host:port`` as (called AE title, host, port); None when ``text`` is not of that
    form; a UsageError when it is, but a part is wrong."""
    aec, at, rest = text.partition("@")
    if not at:
        return None
    host, colon, port_text = rest.rpartition(":")
    usage = "write AET@HOST:PORT, e.g. ARCHIVE@pacs.example.org:104"
    if not colon or not host or not aec:
        raise UsageError(f"connect: {excerpt(text)} is not AET@HOST:PORT", usage)
    try:
        return validate_ae_title(aec), host.strip("[]"), port_number(port_text)
    except ValueError as exc:
        raise UsageError(f"connect: {excerpt(text)}: {exc}", usage) from None


TEMPLATE = """\
# getsh's configuration (written by getsh --init-config). Lines starting with # are comments.
# Where it is read: {path}
# ($GETSH_HOME/config when GETSH_HOME is set.) The command line overrides what is set here.

[settings]
# Default settings, by the names 'set' uses (help NAME says what each means):
# aet = MYSCU
# model = study
# output = ~/dicom
# prefer = lossless

# The node book: one section per peer, [nodes.NAME]. Then, in the shell: connect NAME
# (or start connected: getsh -n NAME); 'nodes' lists them.
#   host, port  where the peer listens (required)
#   aec         its AE title (the called AE title); aet: ours (the calling AE title)
#   model       patient, study or psonly
#   notes       anything for people: shown by 'nodes'

# [nodes.demo]
# host = 127.0.0.1
# port = 11112
# aec = GETSH-DEMO
# notes = the demo archive: getsh serve --demo --port 11112

# [nodes.pacs1]
# host = pacs.example.org
# port = 104
# aec = ARCHIVE
# aet = MYSCU
# model = study
# notes = the hospital archive; ask before retrieving whole studies
"""


def write_template(path: Path) -> None:
    """Write the commented template at ``path``; never over an existing file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as stream:
            stream.write(TEMPLATE.format(path=path))
    except FileExistsError:
        raise UsageError(f"{path} exists: it was left as it is",
                         "edit it (the template: docs/getting-started.md#files), or move it away and run "
                         "getsh --init-config again") from None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}",
                         "set GETSH_HOME to a writable directory (the file is then $GETSH_HOME/config)") from None


def described(node: Node) -> str:
    """One line for completion: address, model and notes."""
    parts = [node.address, *([f"model {node.model}"] if node.model else []), *([node.notes] if node.notes else [])]
    return " — ".join(parts)


def known_names(nodes: dict[str, Node]) -> str:
    return ", ".join(sorted(nodes)) if nodes else "none"
