"""The association: what is asked for (request), the presentation contexts proposed (presentation),
transfer syntaxes and SOP classes by name, keeping, reusing and renegotiating it (association),
opening one (opening), why one failed (failures), user identity negotiation (identity), and C-ECHO
(echo). Exports load lazily (``getsh.lazy``): the transfer-syntax tables are needed at start-up,
pynetdicom is not."""

from __future__ import annotations

from typing import TYPE_CHECKING

from getsh.lazy import exports

if TYPE_CHECKING:
    from getsh.dicom.net.association import Link
    from getsh.dicom.net.echo import verify
    from getsh.dicom.net.identity import SecretSource, UserIdentity, identity_of, parse_source
    from getsh.dicom.net.opening import settle
    from getsh.dicom.net.presentation import (
        FIND_MODELS,
        GET_MODELS,
        MAX_CONTEXTS,
        MOVE_MODELS,
        SERVICE_CONTEXTS,
        ContextPlan,
        plan_contexts,
    )
    from getsh.dicom.net.request import AssociationRequest, Peer, Timeouts
    from getsh.dicom.net.sopclasses import classes_for, parse_accept
    from getsh.dicom.net.syntaxes import PREFER, PROPOSE, syntax_name, uid_name

__all__ = ["FIND_MODELS", "GET_MODELS", "MAX_CONTEXTS", "MOVE_MODELS", "PREFER", "PROPOSE", "SERVICE_CONTEXTS",
           "AssociationRequest", "ContextPlan", "Link", "Peer", "SecretSource", "Timeouts", "UserIdentity",
           "classes_for", "identity_of", "parse_accept", "parse_source", "plan_contexts", "settle", "syntax_name",
           "uid_name", "verify"]

__getattr__, __dir__ = exports(__name__, {
    "association": ("Link",),
    "echo": ("verify",),
    "identity": ("SecretSource", "UserIdentity", "identity_of", "parse_source"),
    "opening": ("settle",),
    "presentation": ("FIND_MODELS", "GET_MODELS", "MAX_CONTEXTS", "MOVE_MODELS", "SERVICE_CONTEXTS", "ContextPlan",
                     "plan_contexts"),
    "request": ("AssociationRequest", "Peer", "Timeouts"),
    "sopclasses": ("classes_for", "parse_accept"),
    "syntaxes": ("PREFER", "PROPOSE", "syntax_name", "uid_name"),
})
