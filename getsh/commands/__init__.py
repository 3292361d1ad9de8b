"""Command handlers, one module per area. Importing this package registers them all."""

from getsh.commands import browse, connection, find, general, keys, retrieve, script, settings, view  # noqa: F401
