"""Did everything arrive? What the archive lists under a retrieved identifier, against what came.

After ``get 3`` the question a PACS engineer asks first is whether the archive sent all it holds. A
C-GET's own counts only say how many sub-operations the peer attempted; an archive that cannot send
an object in a class or transfer syntax the retrieve did not accept may leave it out of its counts
altogether. So the check asks the archive again, with C-FIND on the open association, for the SOP
Instance UIDs under the identifier — hierarchically, each level's unique key given (PS3.4
C.4.1.2.1: a strict archive refuses a deeper query without them) — and compares them with the UIDs
that arrived. The count a found row carried (``NumberOfStudyRelatedInstances`` …) is compared with
that list too: an archive whose count is stale is worth knowing about.

Patient/study-only has no IMAGE level: nothing lists instances there, and only the counts can be
compared.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from pydicom import Dataset
from pynetdicom.association import Association

from getsh.dicom.events import CompletenessChecked, FindDone, FoundRow
from getsh.dicom.keys.qr_keys import levels, unique_key
from getsh.dicom.query.find import element_text, find
from getsh.dicom.query.return_keys import INSTANCE_COUNTS, identifying_keys
from getsh.errors import PeerFailure

MAX_QUERIES = 500  # C-FIND requests one check may send (one per series, plus the levels above)
PSONLY = "not possible under patient/study-only: it has no IMAGE level to list the instances"
NOT_MATCHED = ("QueryRetrieveLevel", "SpecificCharacterSet", "TimezoneOffsetFromUTC", "QueryRetrieveView")


class NotListed(Exception):
    """The archive's list could not be had: why, in words."""


def listable(model: str) -> bool:
    """Whether the model has an IMAGE level, where instances are listed."""
    return "IMAGE" in levels(model)


def row_for(found: FindDone | None, identifier: Dataset) -> FoundRow | None:
    """The row of the last find that ``identifier`` stands for (its level and unique keys, nothing
    else), as ``get 3`` and its recorded line build it; None when it is not one."""
    if found is None:
        return None
    level = str(identifier.get("QueryRetrieveLevel", "") or "").upper()
    keys = {e.keyword: element_text(e) for e in identifier if e.keyword not in NOT_MATCHED}
    for row in found.rows:
        if row.level == level and dict(row.unique) == keys:
            return row
    return None


def instance_count(row: FoundRow | None) -> int | None:
    """The count of instances a row carried (None: it did not, or not as a number)."""
    if row is None or row.level not in INSTANCE_COUNTS:
        return None
    text = row.value(INSTANCE_COUNTS[row.level]).strip()
    return int(text) if text.isdigit() else None


def list_instances(assoc: Association, identifier: Dataset, model: str, max_queries: int = MAX_QUERIES,
                   message_ids: Callable[[], int] = lambda: 1) -> tuple[str, ...]:
    """The SOP Instance UIDs the archive lists under ``identifier``, in the order it lists them;
    NotListed when it cannot say; PeerFailure or NetworkError when a C-FIND fails."""
    if not listable(model):
        raise NotListed(PSONLY)
    chain = levels(model)
    level = str(identifier.get("QueryRetrieveLevel", "") or "").upper()
    if level not in chain:
        raise NotListed(f"the identifier's level ({level or 'none'}) is not one of the {model} model")
    sent = [0]

    def ask(q_level: str, query: Dataset) -> list[Dataset]:
        sent[0] += 1
        if sent[0] > max_queries:
            raise NotListed(f"more than {max_queries} C-FIND requests would be needed to list the instances")
        return list(find(assoc, query, model, message_ids()))

    wanted = identifying_keys(model, level)
    if level != "IMAGE" and _only_unique_keys(identifier, wanted):
        known = [{k: str(identifier.get(k)) for k in wanted}]
    else:  # what the C-GET matched, asked the same way: its own level, its own keys
        query = _with_return_keys(identifier, wanted)
        known = [{k: _text(m, k) for k in wanted} for m in ask(level, query)]
    for deeper in chain[chain.index(level) + 1:]:
        key = unique_key(model, deeper)
        known = [{**keys, key: _text(m, key)} for keys in known
                 for m in ask(deeper, _query(deeper, keys, key))]
    return tuple(dict.fromkeys(k["SOPInstanceUID"] for k in known if k.get("SOPInstanceUID")))


def _text(match: Dataset, keyword: str) -> str:
    return element_text(match.data_element(keyword)) if keyword in match else ""


def _only_unique_keys(identifier: Dataset, wanted: tuple[str, ...]) -> bool:
    """Whether the identifier holds exactly the unique keys of its level and those above, each one
    single value without wildcards: then it names what it matches, and needs no C-FIND of its own."""
    keys = {e.keyword: element_text(e) for e in identifier if e.keyword not in NOT_MATCHED}
    return set(keys) == set(wanted) and all(v and not any(c in v for c in "*?\\") for v in keys.values())


def _with_return_keys(identifier: Dataset, wanted: Iterable[str]) -> Dataset:
    query = Dataset()
    for elem in identifier:
        query[elem.tag] = elem
    for keyword in wanted:
        if keyword not in query:
            setattr(query, keyword, "")
    return query


def _query(level: str, known: dict[str, str], wanted: str) -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = level
    for keyword, value in known.items():
        setattr(query, keyword, value)
    setattr(query, wanted, "")
    return query


def check(assoc: Association, label: str, identifier: Dataset, model: str, arrived: Collection[str],
          counted: int | None = None, message_ids: Callable[[], int] = lambda: 1) -> CompletenessChecked:
    """What the archive lists under ``identifier`` against the SOP Instance UIDs that ``arrived``."""
    try:
        listed = list_instances(assoc, identifier, model, message_ids=message_ids)
    except NotListed as why:
        return CompletenessChecked(label, counted, None, (), None, why=str(why))
    except PeerFailure as error:  # a NetworkError ends the command: the association is gone
        return CompletenessChecked(label, counted, None, (), None, why=error.message, failed=True)
    missing = tuple(uid for uid in listed if uid not in arrived)
    return CompletenessChecked(label, counted, listed, missing, len(listed) - len(missing))


def counts_only(label: str, counted: int | None, arrived: int) -> CompletenessChecked:
    """Under patient/study-only: no list of instances, only the rows' counts against what arrived."""
    return CompletenessChecked(label, counted, None, (), arrived, why=PSONLY)
