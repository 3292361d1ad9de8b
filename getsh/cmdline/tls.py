"""DICOM over TLS on the command line: DCMTK's options that are no single setting's own flags.
``+tls KEY CERT`` takes two words and sets three settings; ``+ps``/``+pw``/``-pw`` say where the key's
password is (a file, an environment variable) where DCMTK's tools prompt for it or take it on the
command line, which getsh never does (the other TLS options are the settings' own, settings.py)."""

from __future__ import annotations

from getsh.cmdline.argv import Option
from getsh.cmdline.options import Options


def _tls(opts: Options, key_cert: list[str]) -> None:
    opts.settings += [("tls", "on"), ("tls-key", key_cert[0]), ("tls-cert", key_cert[1])]


def _env_name(text: str) -> str:
    """A variable's name. The error never repeats ``text``: DCMTK's +pw takes the password itself."""
    if not text.isidentifier():
        raise ValueError("names the environment variable that holds the key's password (getsh never takes the "
                         "password itself on its command line)")
    return text


TLS_OPTIONS = (
    Option(("+tls", "--enable-tls"), "DICOM over TLS with our private key and certificate (PEM files): set tls on, "
           "tls-key KEY, tls-cert CERT", _tls, metavar="KEY CERT", convert=list, arity=2),
    Option(("+ps", "--std-passwd"), "our private key's password is the first line of FILE (set tls-password "
           "file:FILE)", lambda opts, path: opts.settings.append(("tls-password", f"file:{path}")), metavar="FILE"),
    Option(("+pw", "--use-passwd"), "our private key's password is in the environment variable NAME, never on the "
           "command line (set tls-password env:NAME)",
           lambda opts, name: opts.settings.append(("tls-password", f"env:{name}")), metavar="NAME",
           convert=_env_name, hint="e.g. +pw GETSH_KEY_PASSWORD"),
    Option(("-pw", "--null-passwd"), "our private key has no password (set tls-password none)",
           lambda opts, _: opts.settings.append(("tls-password", "none"))),
)
