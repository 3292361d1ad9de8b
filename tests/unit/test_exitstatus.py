from getsh.exitstatus import ExitStatus, worst


def test_worst_outcome_wins() -> None:
    assert worst() is ExitStatus.SUCCESS
    assert worst(ExitStatus.SUCCESS, ExitStatus.WARNING) is ExitStatus.WARNING
    assert worst(ExitStatus.SUBOPS_FAILED, ExitStatus.WARNING, ExitStatus.SUCCESS) is ExitStatus.SUBOPS_FAILED
    assert worst(ExitStatus.NETWORK, ExitStatus.FAILURE) is ExitStatus.NETWORK
    assert worst(ExitStatus.ERROR, ExitStatus.SCRIPT) is ExitStatus.SCRIPT
    assert len({int(s) for s in ExitStatus}) == len(ExitStatus)
