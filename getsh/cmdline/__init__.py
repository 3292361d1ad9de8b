"""The command line read into a mode and its options: getscu's option words and the settings they
set (modes: one table per mode), the table-driven loop that reads them (argv), the result (options),
and DCMTK's ``@file`` command files (argfiles). cli.py is the entry point that uses them.

Nothing is imported here, and none of it loads pydicom or pynetdicom: the command line is read before
they are.
"""
