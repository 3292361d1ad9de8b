"""Command handlers, one module per area. Importing this package registers them all."""

from getsh.commands import browse, connection, find, general, keys, receiver, retrieve, script, settings  # noqa: F401
