from getsh.exitstatus import ExitStatus, worst


def test_worst_outcome_wins() -> None:
    assert worst() is ExitStatus.SUCCESS
    assert worst(ExitStatus.SUCCESS, ExitStatus.WARNING) is ExitStatus.WARNING
    assert worst(ExitStatus.SUBOPS_FAILED, ExitStatus.WARNING, ExitStatus.SUCCESS) is ExitStatus.SUBOPS_FAILED
    assert worst(ExitStatus.NETWORK, ExitStatus.FAILURE) is ExitStatus.NETWORK
    assert worst(ExitStatus.ERROR, ExitStatus.SCRIPT) is ExitStatus.SCRIPT
    assert len({int(s) for s in ExitStatus}) == len(ExitStatus)


def test_an_unreachable_archive_or_a_local_failure_explains_the_expectations_after_it() -> None:
    assert worst(ExitStatus.EXPECTATION, ExitStatus.NETWORK) is ExitStatus.NETWORK
    assert worst(ExitStatus.EXPECTATION, ExitStatus.ERROR) is ExitStatus.ERROR
    assert worst(ExitStatus.EXPECTATION, ExitStatus.FAILURE, ExitStatus.LIMIT) is ExitStatus.EXPECTATION
    assert worst(ExitStatus.EXPECTATION, ExitStatus.USAGE) is ExitStatus.USAGE  # 1 stays the command line's
