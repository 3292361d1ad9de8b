"""Command handlers, one module per area. Importing this package registers them all."""

from getsh.commands import (  # noqa: F401
    browse,
    connection,
    explain,
    find,
    general,
    keys,
    receiver,
    retrieve,
    script,
    settings,
    view,
)
