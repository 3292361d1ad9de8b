"""One share of a parallel retrieve: the C-GET one association makes of part of the request (the plan
that cuts a request into shares is sharing.py; the associations that take them, lanes.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pydicom import Dataset

from getsh.dicom.keys.qr_keys import unique_key


@dataclass(frozen=True)
class Share:
    """One C-GET of a parallel retrieve: ``keys`` (the unique keys above its level, single values) and
    ``uids``, the unique keys at ``level`` it lists (one value and ``whole``: that one entity whole)."""

    number: int  # its place in the plan, 1 first
    level: str
    keys: tuple[tuple[str, str], ...]
    uids: tuple[str, ...]
    charset: str = ""  # the request's Specific Character Set (a PatientID may need it)
    whole: bool = False  # a parent retrieved whole (its list could not be trusted or had)

    def identifier(self, model: str) -> Dataset:
        """The C-GET identifier for this share."""
        ds = Dataset()
        if self.charset:
            ds.SpecificCharacterSet = self.charset.split("\\")
        ds.QueryRetrieveLevel = self.level
        for keyword, value in self.keys:
            setattr(ds, keyword, value)
        setattr(ds, unique_key(model, self.level), list(self.uids) if len(self.uids) > 1 else self.uids[0])
        return ds

    def without(self, arrived: set[str]) -> Share | None:
        """What is left of it once ``arrived`` came (None: nothing; a whole parent stays whole)."""
        if self.whole:
            return self
        left = tuple(uid for uid in self.uids if uid not in arrived)
        return replace(self, uids=left) if left else None

    def halves(self) -> tuple[Share, Share] | None:
        """The share cut in two, for an archive that failed it whole (None: it cannot be cut)."""
        if self.whole or len(self.uids) < 2:
            return None
        middle = len(self.uids) // 2
        return replace(self, uids=self.uids[:middle]), replace(self, uids=self.uids[middle:])

    def cut(self, size: int) -> tuple[Share, Share | None]:
        """Its first ``size`` UIDs, and the rest (None: nothing is left; a whole parent stays whole)."""
        if self.whole or len(self.uids) <= size:
            return self, None
        return replace(self, uids=self.uids[:size]), replace(self, uids=self.uids[size:])

    @property
    def objects(self) -> str:
        """What it asks for, in words (for a line that says a share was retried)."""
        if self.whole:
            return f"{self.level.lower()} {self.uids[0]}"
        return f"{len(self.uids)} {self.level.lower()} UID{'s' * (len(self.uids) != 1)}"
