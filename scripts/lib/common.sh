# shellcheck shell=bash
# Shared helpers for scripts/test and scripts/demo: find a suitable Python, create or refresh a
# virtual environment idempotently (a stamp records what was installed, so a second run is fast).

HEMS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Test-harness pins: pytest-homeassistant-custom-component pins Home Assistant exactly.
HEMS_PHCC_FLOOR="0.13.236"   # Home Assistant 2025.4.4, Python >= 3.13.0 (our oldest supported HA)
HEMS_PHCC_313_2="0.13.316"   # Home Assistant 2026.2.3, Python >= 3.13.2 (for Python 3.14.0/3.14.1)
HEMS_PHCC_LATEST="0.13.375"  # Home Assistant 2026.10.4, Python >= 3.14.2 (newest HA with a harness)

hems_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
hems_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Print "major.minor.micro" of a Python interpreter, or nothing if it does not run.
hems_pyver() { "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || true; }

# Succeed if version $1 >= version $2 (dotted numbers).
hems_ver_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# Find a Python >= $1 (default 3.13.0), preferring $HEMS_PYTHON, then the PATH, then pyenv.
hems_find_python() {
  local min="${1:-3.13.0}" max="${2:-}" cand ver
  local -a cands=()
  [ -n "${HEMS_PYTHON:-}" ] && cands+=("$HEMS_PYTHON")
  cands+=(python3.13 python3.14 python3.15)
  if command -v pyenv >/dev/null 2>&1; then
    local root; root="$(pyenv root)"
    for cand in "$root"/versions/3.1[3-9]*/bin/python; do [ -x "$cand" ] && cands+=("$cand"); done
  fi
  for cand in "$HOME"/.pyenv/versions/3.1[3-9]*/bin/python /usr/local/bin/python3.1[3-9] /usr/bin/python3.1[3-9] python3; do
    cands+=("$cand")
  done
  for cand in "${cands[@]}"; do
    command -v "$cand" >/dev/null 2>&1 || [ -x "$cand" ] || continue
    ver="$(hems_pyver "$cand")"
    [ -n "$ver" ] || continue
    hems_ver_ge "$ver" "$min" || continue
    if [ -n "$max" ] && hems_ver_ge "$ver" "$max"; then continue; fi
    command -v "$cand" 2>/dev/null || echo "$cand"
    return 0
  done
  return 1
}

# The pytest-homeassistant-custom-component pin that matches a Python version.
hems_phcc_pin() {
  local ver="$1"
  if hems_ver_ge "$ver" "3.14.2"; then echo "$HEMS_PHCC_LATEST"
  elif hems_ver_ge "$ver" "3.14.0"; then echo "$HEMS_PHCC_313_2"
  else echo "$HEMS_PHCC_FLOOR"
  fi
}

# hems_ensure_venv VENV PYTHON PROFILE SPEC...
# Create VENV with PYTHON (recreate if its Python differs) and install SPEC with uv, unless the
# stamp for PROFILE says exactly this was installed already.
hems_ensure_venv() {
  local venv="$1" py="$2" profile="$3"; shift 3
  local pyver want have
  pyver="$(hems_pyver "$py")"
  want="$(printf '%s\n' "$pyver" "$*" "${HEMS_UV_FLAGS:-}" | cat - "$HEMS_ROOT/pyproject.toml" "$HEMS_ROOT/scripts/lib/common.sh" | sha256sum | cut -c1-16)"
  if [ -x "$venv/bin/python" ] && [ "$(hems_pyver "$venv/bin/python")" != "$pyver" ]; then
    hems_log "Python changed ($(hems_pyver "$venv/bin/python") -> $pyver): recreating $venv"
    rm -rf "$venv"
  fi
  have="$(cat "$venv/.hems-stamp-$profile" 2>/dev/null || true)"
  if [ "$have" = "$want" ] && [ -x "$venv/bin/python" ]; then
    return 0
  fi
  if [ ! -x "$venv/bin/python" ]; then
    hems_log "Creating $venv with Python $pyver"
    "$py" -m venv "$venv" || hems_die "could not create a virtual environment with $py (on Debian: apt-get install python3-venv)"
  fi
  local uv
  uv="$(command -v uv || true)"
  if [ -z "$uv" ] || ! "$uv" --version >/dev/null 2>&1; then
    [ -x "$venv/bin/uv" ] || "$venv/bin/python" -m pip install -q --disable-pip-version-check uv \
      || hems_die "could not install uv into $venv (is the package index reachable?)"
    uv="$venv/bin/uv"
  fi
  hems_log "Installing into $venv: $*"
  # Bytecode compiled at install time, as pip does by default: with PYTHONDONTWRITEBYTECODE set
  # (as on this workplace's machines) every fresh interpreter would otherwise recompile numpy
  # and Home Assistant from source (measured: hems cold start 0.40-0.50 s -> 0.19-0.23 s, the
  # HA test pass 18 s -> 12 s, for ~13 s more per venv).
  # shellcheck disable=SC2086  # HEMS_UV_FLAGS holds several flags on purpose
  (cd "$HEMS_ROOT" && "$uv" pip install -q --compile-bytecode ${HEMS_UV_FLAGS:-} --python "$venv/bin/python" "$@") \
    || hems_die "installing $* into $venv failed"
  # The editable hems_core too (stale .pyc files are ignored by Python, never misused).
  "$venv/bin/python" -m compileall -q "$HEMS_ROOT/hems_core" >/dev/null || true
  echo "$want" > "$venv/.hems-stamp-$profile"
}
