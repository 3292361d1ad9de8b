"""The get summary's line for a serial C-GET that mostly waited for the archive, and what `parallel` would
likely make of it.

A C-GET answers its C-STORE sub-operations one at a time, so every object costs a round trip plus the
archive's own work (finding and reading it) while getsh has nothing to do. The receive paths add that time up
(``GetDone.waited``, dicom/retrieve/waits.py). On loopback it is mostly the archive's work, over a real network
mostly round trips; either way several associations at once overlap it (dcmqrscp and Orthanc serve each
association on its own), and nothing getsh does on one association can. The line appears only when it matters:
enough objects, waits most of the time and long enough to notice.
"""

from __future__ import annotations

from getsh.dicom.events import GetDone
from getsh.dicom.retrieve.waits import suggested_associations

MIN_OBJECTS = 20  # fewer: a few round trips, whatever their share
MIN_SHARE = 0.5  # of the C-GET's time
MIN_WAITED = 0.5  # seconds in all


def waiting_line(done: GetDone, *, one_shot: bool = False) -> str:
    """'' unless the C-GET was measured (``waited`` is None for a C-MOVE or a get over several associations),
    brought MIN_OBJECTS or more, and waited MIN_SHARE of its time and MIN_WAITED seconds or more. ``one_shot``:
    the suggestion is the command-line option, not the ``set`` command."""
    objects = len(done.received) + len(done.refused)
    if done.waited is None or done.service != "C-GET" or objects < MIN_OBJECTS or done.seconds <= 0:
        return ""
    waited = min(done.waited, done.seconds)
    share = waited / done.seconds
    if share < MIN_SHARE or waited < MIN_WAITED:
        return ""
    each = waited / objects * 1000
    per_object = f"{each:.1f} ms" if each < 10 else f"{each:.0f} ms"
    line = (f"waiting for the archive took {waited:.1f} s of {done.seconds:.1f} s ({share * 100:.0f} %, "
            f"{per_object} an object: round trips and the archive's own work)")
    associations, faster = suggested_associations(done.seconds, waited, objects)
    if associations:
        how = f"--parallel {associations}" if one_shot else f"set parallel {associations}"
        line += (f"; '{how}' would likely make this about {faster:.1f}× faster (an estimate: {associations} "
                 "associations overlap their waits, if the archive accepts that many at once)")
    return line
