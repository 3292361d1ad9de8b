from getsh.dicom.contexts import GET_MODELS, MAX_CONTEXTS, VERIFICATION, plan_contexts
from getsh.dicom.syntaxes import IMPLICIT, PREFER, PROPOSE


def test_plan_fits_the_budget_and_asks_scp_role_for_storage() -> None:
    plan = plan_contexts("study", "implicit", "rle")
    assert len(plan) <= MAX_CONTEXTS
    first, get = plan.contexts[0], plan.contexts[1]
    assert first.abstract_syntax == VERIFICATION and not first.scp_role
    assert get.abstract_syntax == GET_MODELS["study"] and get.transfer_syntaxes == (IMPLICIT,)
    storage = [cx for cx in plan.contexts if cx.scp_role]
    assert storage and all(cx.transfer_syntaxes == PREFER["rle"] for cx in storage)
    assert "1.2.840.10008.5.1.4.1.1.2" in plan.storage_classes  # CT Image Storage


def test_plan_truncates_storage_beyond_128_contexts() -> None:
    many = [f"1.2.3.{n}" for n in range(300)]
    plan = plan_contexts("patient", "uncompr", "uncompr", many)
    assert len(plan) == MAX_CONTEXTS
    assert plan.contexts[3].abstract_syntax == "1.2.3.0"
    assert plan.contexts[1].transfer_syntaxes == PROPOSE["uncompr"]
