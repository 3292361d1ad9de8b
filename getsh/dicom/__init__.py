"""The protocol layer: pydicom and pynetdicom only, no user interface.

It yields typed events (events.py) and returns data; ``shell/`` decides how they look. Status
codes are put into words in status.py; the POSIX-only calls of receiving and storing sit behind
portable.py. The sub-packages follow a retrieve's path:

- ``keys/``      the identifier: dictionary, VRs, key expressions, Q/R roles per level, AE titles
- ``net/``       the association: request, presentation contexts, syntaxes, SOP classes, failures, C-ECHO
- ``query/``     C-FIND, and what ``accept auto`` learns with it
- ``retrieve/``  a retrieve (plan, split, run, result, cancel) and ``receive/``, the direct receive path
- ``storage/``   names, containment, atomic writes, header scan
- ``demo/``      the embedded archive SCP and its data
"""
