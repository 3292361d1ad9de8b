# Sourced by scripts/demo and scripts/test: activate a virtual environment with getsh installed.
# Uses the active one if there is one, else .venv (or $GETSH_VENV), created on first use.
# $1: the pip extra to install ("" or "test").
getsh_venv() {
  local extra="${1:-}"
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "getsh needs Python 3.10 or newer (found: $(python3 --version 2>&1))" >&2
    return 1
  fi
  if [ -z "${VIRTUAL_ENV:-}" ]; then
    local venv="${GETSH_VENV:-.venv}"
    if [ ! -x "$venv/bin/python" ]; then
      echo "creating $venv and installing getsh into it (first run only)…" >&2
      python3 -m venv "$venv"
    fi
    # shellcheck disable=SC1091
    . "$venv/bin/activate"
  fi
  local spec="." log stamp
  [ -n "$extra" ] && spec=".[$extra]"
  # An editable install needs redoing only when pyproject.toml changes (or another extra is wanted).
  stamp="$VIRTUAL_ENV/.getsh-installed${extra:+-$extra}"
  if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] && python -c 'import importlib.metadata as m; m.version("getsh")' 2>/dev/null; then
    return 0
  fi
  # The first run installs everything (some 15 s): say what it is doing as it goes; later runs check
  # in a second. Quiet about the details unless it fails.
  log="$(mktemp)"
  local started=$SECONDS pid line shown=""
  echo "installing getsh${extra:+[$extra]} and the libraries it needs (pydicom, pynetdicom, prompt_toolkit, rich) into $VIRTUAL_ENV…" >&2
  python -m pip install --disable-pip-version-check --progress-bar off -e "$spec" >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    line="$(grep -E '^(Collecting|Obtaining|Building|Installing collected)' "$log" | tail -n 1 | cut -c1-100)" || true
    if [ -n "$line" ] && [ "$line" != "$shown" ]; then
      if [ -t 2 ]; then printf '\r\033[K  %s' "$line" >&2; else printf '  %s\n' "$line" >&2; fi
      shown="$line"
    fi
    sleep 0.2
  done
  [ -t 2 ] && [ -n "$shown" ] && printf '\r\033[K' >&2
  if ! wait "$pid"; then
    cat "$log" >&2
    rm -f "$log"
    echo "could not install getsh (see above)" >&2
    return 1
  fi
  rm -f "$log"
  echo "getsh is installed ($((SECONDS - started)) s)" >&2
  touch "$stamp"
}
