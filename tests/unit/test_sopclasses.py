"""Naming the storage classes to accept, and fitting them into 128 presentation contexts."""

import pytest

from getsh.dicom.net.presentation import DEFAULT_STORAGE_CLASSES, MAX_CONTEXTS, plan_contexts
from getsh.dicom.net.sopclasses import ALL_STORAGE_CLASSES, classes_for, parse_accept, resolve_word

CT = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"


def test_words_uids_and_keywords_name_classes() -> None:
    assert CT in resolve_word("CT") and ENHANCED_CT in resolve_word("ct")
    assert BASIC_TEXT_SR in resolve_word("SR")
    assert resolve_word(CT) == (CT,)
    assert resolve_word("CTImageStorage") == (CT,)
    with pytest.raises(ValueError, match="names no storage SOP class"):
        resolve_word("XYZZY")
    with pytest.raises(ValueError, match="not a storage SOP class UID"):
        resolve_word("1.2.3.4")


def test_accept_values() -> None:
    assert parse_accept(" AUTO ") == "auto"
    assert parse_accept("CT, MR") == "CT MR"
    with pytest.raises(ValueError, match="cannot be mixed"):
        parse_accept("CT all")
    assert classes_for("default") == DEFAULT_STORAGE_CLASSES
    assert len(classes_for("all")) == len(ALL_STORAGE_CLASSES) > 128
    assert set(classes_for("CT SR")) >= {CT, ENHANCED_CT, BASIC_TEXT_SR}


def test_what_does_not_fit_is_counted_not_hidden() -> None:
    plan = plan_contexts("study", "uncompr", "uncompr", ALL_STORAGE_CLASSES)
    assert len(plan) == MAX_CONTEXTS
    assert len(plan.dropped) == len(ALL_STORAGE_CLASSES) - (MAX_CONTEXTS - 3)
    assert not set(plan.dropped) & set(plan.storage_classes)
    small = plan_contexts("study", "uncompr", "rle", classes_for("CT MR"))
    assert small.dropped == () and len(small) == 3 + 2 * len(classes_for("CT MR"))
