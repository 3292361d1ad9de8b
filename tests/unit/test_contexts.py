from getsh.dicom.net.presentation import GET_MODELS, MAX_CONTEXTS, VERIFICATION, plan_contexts
from getsh.dicom.net.request import Peer
from getsh.dicom.net.syntaxes import IMPLICIT, PREFER, PROPOSE
from getsh.dicom.retrieve.plan import ClassGroup
from tests.shell_driver import make_context


def test_plan_fits_the_budget_and_asks_scp_role_for_storage() -> None:
    plan = plan_contexts("study", "implicit", "rle")
    assert len(plan) <= MAX_CONTEXTS
    first, get = plan.contexts[0], plan.contexts[1]
    assert first.abstract_syntax == VERIFICATION and not first.scp_role
    assert get.abstract_syntax == GET_MODELS["study"] and get.transfer_syntaxes == (IMPLICIT,)
    storage = [cx for cx in plan.contexts if cx.scp_role]
    ct = [cx.transfer_syntaxes for cx in storage if cx.abstract_syntax == "1.2.840.10008.5.1.4.1.1.2"]
    # the preferred syntax alone first (peers pick their own favourite within a context), then the rest
    assert ct == [PREFER["rle"][:1], PREFER["rle"][1:]]
    assert all(cx.transfer_syntaxes in (PREFER["rle"], PREFER["rle"][:1], PREFER["rle"][1:]) for cx in storage)


def test_preferences_peers_pick_anyway_need_one_context_per_class() -> None:
    for prefer in ("uncompr", "little", "implicit"):
        plan = plan_contexts("patient", "uncompr", prefer)
        storage = [cx for cx in plan.contexts if cx.scp_role]
        assert len(storage) == len(set(plan.storage_classes)) == 120
        assert all(cx.transfer_syntaxes == PREFER[prefer] for cx in storage)


def test_plan_truncates_storage_beyond_128_contexts() -> None:
    many = [f"1.2.3.{n}" for n in range(300)]
    plan = plan_contexts("patient", "uncompr", "uncompr", many)
    assert len(plan) == MAX_CONTEXTS
    assert plan.contexts[3].abstract_syntax == "1.2.3.0"
    assert plan.contexts[1].transfer_syntaxes == PROPOSE["uncompr"]


def test_one_association_of_a_split_retrieve_proposes_its_group_and_says_which() -> None:
    ctx, _out, _err = make_context()
    ctx.session.peer = Peer("127.0.0.1", 104)
    whole = ctx.wanted_association()
    group = ClassGroup("association 2 of 2", ("1.2.840.10008.5.1.4.1.1.88.11",))
    part = ctx.wanted_association(group)
    assert whole is not None and part is not None
    assert part.plan.storage_classes == list(group.classes)
    assert part.because == (*whole.because, ("storage classes", "association 2 of 2"))
    assert ctx.wanted_association() == whole  # the group is asked for, not remembered
