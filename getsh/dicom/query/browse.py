"""Where ``ls`` and ``cd`` stand in an archive: a path of found rows from the root of a model down.

A location is the model it was walked under, the archive that answered, and its steps, each a row
that was entered: its level, the unique keys that identify it (those of its level and every level
above, top down, as a C-GET identifier holds them) and a label for people. What ``ls`` lists is the
level below the last step (the model's top level at the root), narrowed by the path's unique keys;
what ``get .`` retrieves is the last step's level and unique keys alone. The listing made at each
depth is kept, so that ``cd ..`` can enter a sibling (``cd ../2``) without asking the archive again.

The path's unique keys come from the path itself, never from a peer's echo of them in a row: a row
contributes only its own level's unique key.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pydicom import Dataset

from getsh.dicom.events import FindDone, FoundRow
from getsh.dicom.keys.qr_keys import levels, unique_key
from getsh.dicom.query.return_keys import retrieve_identifier
from getsh.errors import UsageError

LEVEL_WORDS = {"PATIENT": "patient", "STUDY": "study", "SERIES": "series", "IMAGE": "instance"}
PLURALS = {"PATIENT": "patients", "STUDY": "studies", "SERIES": "series", "IMAGE": "instances"}
MODEL_NAMES = {"patient": "patient root", "study": "study root", "psonly": "patient/study only"}


@dataclass(frozen=True)
class Step:
    """One row entered: its level, the unique keys of that level and those above, a label."""

    level: str
    unique: tuple[tuple[str, str], ...]
    label: str


@dataclass(frozen=True)
class Location:
    """A place in the archive under one model; the root when it has no steps."""

    model: str
    archive: str = ""  # who answered the listings (the called AE title at the peer): another one has other rows
    steps: tuple[Step, ...] = ()
    listings: tuple[FindDone | None, ...] = (None,)  # what ls listed at each depth (0: the root)

    @property
    def at_root(self) -> bool:
        return not self.steps

    @property
    def level(self) -> str | None:
        """The level of where you stand (None at the root)."""
        return self.steps[-1].level if self.steps else None

    @property
    def below(self) -> str | None:
        """The level ``ls`` lists here; None when the model has nothing below where you stand."""
        path = levels(self.model)
        if not self.steps:
            return path[0]
        index = path.index(self.steps[-1].level) + 1
        return path[index] if index < len(path) else None

    @property
    def unique(self) -> tuple[tuple[str, str], ...]:
        """The unique keys of where you stand (nothing at the root)."""
        return self.steps[-1].unique if self.steps else ()

    @property
    def listing(self) -> FindDone | None:
        """What ls listed where you stand, if it did."""
        return self.listings[-1]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(step.label for step in self.steps)

    @property
    def path(self) -> str:
        return "/" + "/".join(self.labels)

    def labels_under(self, model: str, archive: str) -> tuple[str, ...]:
        """The labels of the path if it was walked under ``model`` on ``archive`` (after a change of
        either, ls and cd are back at the root)."""
        return self.labels if (model, archive) == (self.model, self.archive) else ()

    def listing_base(self) -> Dataset:
        """The matching keys of a listing here: the path's unique keys (the caller adds the rest)."""
        base = Dataset()
        for keyword, value in self.unique:
            setattr(base, keyword, value)
        return base

    def here(self) -> Dataset:
        """The C-GET identifier of where you stand: its level and unique keys only."""
        if not self.steps:
            raise UsageError("'get .' retrieves where you stand, and you stand at the root: that would be the "
                             "whole archive", "cd N into a row of a listing first (ls lists them), or get KEY=VALUE")
        step = self.steps[-1]
        return retrieve_identifier(self.model, step.level, dict(step.unique))

    def listed(self, done: FindDone) -> Location:
        """The same place, with ``done`` as its listing."""
        return replace(self, listings=(*self.listings[:-1], done))

    def lists(self, done: FindDone | None) -> bool:
        """Whether ``done`` is a listing of where you stand: ls's own, or a find of the level below
        whose every row carries the path's unique keys."""
        if done is None or done.model != self.model or done.level != self.below:
            return False
        if done is self.listing:
            return True
        path = dict(self.unique)
        return all(all(dict(row.unique).get(k) == v for k, v in path.items()) for row in done.rows)

    def enter(self, row: FoundRow) -> Location:
        """One level down, into ``row`` (a row of a listing here); not into a row of the deepest level."""
        if levels(self.model)[-1] == row.level:
            raise nothing_below(self.model, row.level)
        own = unique_key(self.model, row.level)
        value = dict(row.unique).get(own, "")
        if not value:
            raise UsageError(f"row {row.number} came without {own}: the peer did not return the unique key "
                             "that identifies it", f"find it by other keys, then: get {own}=…")
        step = Step(row.level, (*self.unique, (own, value)), label_of(row) or value)
        return replace(self, steps=(*self.steps, step), listings=(*self.listings, None))

    def up(self) -> Location:
        if not self.steps:
            raise UsageError("you stand at the root: there is nothing above it", "ls lists what is here")
        return replace(self, steps=self.steps[:-1], listings=self.listings[:-1])

    def root(self) -> Location:
        return replace(self, steps=(), listings=self.listings[:1])


def label_of(row: FoundRow) -> str:
    """What a row is called in a path: a patient's name, a study's description, a series' number,
    modality and description; a date or number when that is empty."""
    if row.level == "PATIENT":
        return row.value("PatientName") or row.value("PatientID")
    if row.level == "STUDY":
        return row.value("StudyDescription") or row.value("StudyDate") or row.value("AccessionNumber")
    if row.level == "SERIES":
        words = (row.value("SeriesNumber"), row.value("Modality"), row.value("SeriesDescription"))
        return " ".join(w for w in words if w)
    return row.value("InstanceNumber")


def nothing_below(model: str, level: str) -> UsageError:
    """Why one cannot go into a row of the model's deepest level."""
    what = LEVEL_WORDS.get(level, level.lower())
    if levels(model)[-1] != "IMAGE":
        return UsageError(f"under the {MODEL_NAMES.get(model, model)} model, browsing stops at {PLURALS[level]}: "
                          f"there is nothing below a {what}", "get N retrieves that row; set model patient to "
                          "browse series and instances")
    return UsageError(f"an {what} is the deepest level: there is nothing to go into", "get N retrieves that row")
