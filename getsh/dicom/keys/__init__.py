"""The identifier: the data dictionary, VR checks, getscu's key expressions, query/retrieve key roles
per level, and AE titles. Exports load lazily (``getsh.lazy``): the AE title check is needed at start-up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from getsh.lazy import exports

if TYPE_CHECKING:
    from getsh.dicom.keys.aetitle import validate_ae_title
    from getsh.dicom.keys.dictionary import Entry, Explanation, enumerated, explain, lookup, search, validate
    from getsh.dicom.keys.identifier import (
        KeyAssignment,
        Node,
        Step,
        apply,
        default_identifier,
        describe,
        load_query,
        parse_key,
        parse_path,
        save_query,
    )

__all__ = ["Entry", "Explanation", "KeyAssignment", "Node", "Step", "apply", "default_identifier", "describe",
           "enumerated", "explain", "load_query", "lookup", "parse_key", "parse_path", "save_query", "search",
           "validate", "validate_ae_title"]

__getattr__, __dir__ = exports(__name__, {
    "aetitle": ("validate_ae_title",),
    "dictionary": ("Entry", "Explanation", "enumerated", "explain", "lookup", "search", "validate"),
    "identifier": ("KeyAssignment", "Node", "Step", "apply", "default_identifier", "describe", "load_query",
                   "parse_key", "parse_path", "save_query"),
})
