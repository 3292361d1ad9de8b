"""The script side: reading scripts (reading), recording a session (recording), what a session
remembers for them (state), replaying one through the runner (replay), ``expect`` (expectations)
and the JUnit report (junit).

This file imports nothing: the context imports state, the runner recording, the commands the
rest, so importing any one module never runs the others and the package closes no cycle.
"""
