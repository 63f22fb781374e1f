# Step helpers shared by demo.sh and test.sh (sourced, not run): every step either succeeds or
# stops the script with one line naming what failed and how to fix it.

# step TITLE: announces a step, with the seconds since the script started.
step() { printf '\n\033[1m==> %s\033[0m  [%ss]\n' "$*" "$SECONDS"; }

# die WHAT FIX: stops the script with one line naming what failed and how to fix it.
die() {
  printf '\n\033[1;31merror:\033[0m %s. Fix: %s\n' "$1" "$2" >&2
  exit 1
}

# must WHAT FIX COMMAND...: runs COMMAND; on failure stops with die WHAT FIX (its output, above
# that line, has the details).
must() {
  local what=$1 fix=$2
  shift 2
  "$@" || die "$what failed (exit $?)" "$fix"
}

# need_tool NAME FIX: stops unless NAME is on PATH.
need_tool() { command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed" "$2"; }
