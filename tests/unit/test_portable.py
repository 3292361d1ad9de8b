"""The portability seam (getsh/dicom/portable.py): forced to its fallbacks, no POSIX-only call is made.

There is no Windows runner here, so the fallbacks are proven on Linux: ``GETSH_PORTABLE=fallback``
forces them (``scripts/test`` runs the receive-path tests a second time so), and this test checks
in a fresh interpreter that the native calls are then never reached, and that both paths give the
same results.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

CHECKS = textwrap.dedent("""
    import os, socket, sys, tempfile, threading

    def forbidden(*args, **kwargs):
        raise AssertionError("a native POSIX call was made")

    for name in ("writev", "preadv", "copy_file_range", "pipe"):
        if hasattr(os, name):
            setattr(os, name, forbidden)

    from getsh.dicom import portable
    from getsh.dicom.retrieve.receive.transport import TcpTransport
    from getsh.dicom.storage import diskio

    assert portable.FORCED == (sys.argv[1] == "fallback"), portable.describe()
    work = tempfile.mkdtemp()
    fd, path = tempfile.mkstemp(dir=work)
    assert diskio.writev_all(fd, [b"ab", memoryview(b""), memoryview(b"cdef")]) == 6
    buffer = bytearray(4)
    assert portable.pread_into(fd, memoryview(buffer), 1) == 4 and buffer == b"bcde"
    other, copy = tempfile.mkstemp(dir=work)
    diskio.copy_range(fd, other, 2, 4)
    assert open(copy, "rb").read() == b"cdef"
    portable.fsync_directory(work)

    ours, peer = socket.socketpair()
    with TcpTransport(ours) as transport:
        assert ours.getblocking() is False  # MSG_DONTWAIT's stand-in: the socket itself is non-blocking
        view = memoryview(bytearray(16))
        assert transport.read_into(view) is None and transport.wait(0.01) is False
        peer.sendall(b"hello")
        assert transport.wait(1.0) is True and transport.read_into(view) == 5 and bytes(view[:5]) == b"hello"
        got = []
        reader = threading.Thread(target=lambda: got.append(peer.recv(3_000_000, socket.MSG_WAITALL)))
        reader.start()
        transport.send(b"x" * 3_000_000)  # more than the socket buffers hold: waits for room
        reader.join(10)
        assert len(got[0]) == 3_000_000
        transport.wake()  # a socket pair, not os.pipe (forbidden here)
        assert transport.wait(None) is True
    transport.wake()  # after close: harmless
    peer.close()
    print("fallback ok")
""")


def run_checks(mode: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GETSH_PORTABLE": mode, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", CHECKS, mode], env=env, capture_output=True, text=True,
                          timeout=30)


def test_forced_fallbacks_make_no_posix_only_call() -> None:
    result = run_checks("fallback")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "fallback ok"


@pytest.mark.skipif(not hasattr(os, "writev"), reason="the native calls exist only on POSIX")
def test_without_forcing_the_native_calls_are_taken() -> None:
    """The same checks fail natively: proof that they can tell which path was taken."""
    result = run_checks("")
    assert result.returncode != 0 and "a native POSIX call was made" in result.stderr
