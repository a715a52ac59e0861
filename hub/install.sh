#!/usr/bin/env bash
# Install what the course hub needs, as root, on a Debian/Ubuntu machine; run again at will (it
# does only what is missing, and re-installs the course package when its sources changed; a few
# seconds when nothing did):
#   1. Debian packages: python3-venv (the hub's Python, which every account can run) and npm;
#   2. configurable-http-proxy, JupyterHub's proxy, from the npm registry;
#   3. the hub's environment in $CNN_HUB_PREFIX (/opt/cnn-course-hub): JupyterHub, JupyterLab,
#      nbgrader and the course package (cnnkit, grader) copied from this repository, at the
#      versions of binder/requirements.txt;
#   4. nbgrader's extensions: the Assignments panel for everyone, the formgrader and the
#      assignment-creation toolbar for nobody (hub/users.sh enables them for each instructor);
#      nbgrader's settings for every account: the exchange folder and the course id;
#   5. the exchange folder $CNN_HUB_EXCHANGE (/srv/nbgrader/exchange), mode 1777 (nbgrader requires
#      anyone to write there; the sticky bit keeps a student from renaming the course's folder),
#      and the hub's own state folder $CNN_HUB_STATE (/srv/cnn-course-hub), root only.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${CNN_HUB_PREFIX:-/opt/cnn-course-hub}"
STATE="${CNN_HUB_STATE:-/srv/cnn-course-hub}"
DEFAULT_EXCHANGE=/srv/nbgrader/exchange
EXCHANGE="${CNN_HUB_EXCHANGE:-$DEFAULT_EXCHANGE}"
COURSE_ID="cnn-course"
say() { echo "hub/install: $*"; }

# --if-possible (used by `make test`): on a machine where this cannot run, say why and succeed;
# the hub's test then skips with the same reason.
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || ! command -v useradd >/dev/null 2>&1; then
  reason="needs root, apt-get and useradd (a Debian/Ubuntu machine or container)"
  if [ "${1:-}" = "--if-possible" ]; then say "skipped: $reason"; exit 0; fi
  say "$reason" >&2
  exit 2
fi

# 1. Debian packages (the interpreter must not live in a private home such as /root/.pyenv).
missing=()
/usr/bin/python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. The proxy.
if ! command -v configurable-http-proxy >/dev/null 2>&1; then
  say "npm install -g configurable-http-proxy"
  npm install -g --silent --no-fund --no-audit configurable-http-proxy@5 >/dev/null
fi

# 3. The environment (the course package cnnkit and the grading package, each its own distribution). Dependencies are re-installed when a requirements file changes, the course
# package when its sources change (a copy, not an editable install: the checkout may sit in a
# private folder, and students must not need to read it).
# pyproject.toml without its optional dependencies: the hub installs none of them (the dev extras are
# the test tools), so adding a test tool does not re-install the hub's environment.
deps_hash="$({ sed '/^\[project.optional-dependencies\]/,/^\[/{/^\[/!d;/^\[project.optional-dependencies\]/d}' "$REPO/pyproject.toml"
  cat "$REPO/grader/pyproject.toml" "$REPO/binder/requirements.txt" "$REPO/hub/requirements.txt"; } | sha256sum | cut -c1-16)"
code_hash="$(cd "$REPO" && find cnnkit grader -type f ! -name '*.pyc' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)"
if [ ! -x "$PREFIX/bin/python" ]; then
  say "creating $PREFIX with Debian's python3"
  /usr/bin/python3 -m venv "$PREFIX"
fi
package_copy="$(mktemp -d)"
trap 'rm -rf "$package_copy"' EXIT
cp -r "$REPO/cnnkit" "$REPO/grader" "$REPO/pyproject.toml" "$REPO/README.md" "$package_copy/"
find "$package_copy" -name __pycache__ -prune -exec rm -rf {} +
if [ "$(cat "$PREFIX/.deps" 2>/dev/null)" != "$deps_hash" ]; then
  say "installing JupyterHub, JupyterLab, nbgrader and the course package into $PREFIX (a few minutes the first time)"
  "$PREFIX/bin/python" -m pip install --quiet --upgrade pip
  # binder/requirements.txt's pins as constraints, except where hub/requirements.txt pins a package
  grep -v -i -E "^($(grep -o -E '^[A-Za-z0-9_.-]+' "$REPO/hub/requirements.txt" | paste -sd '|'))==" \
    "$REPO/binder/requirements.txt" > "$package_copy/constraints.txt"
  "$PREFIX/bin/python" -m pip install --quiet -c "$package_copy/constraints.txt" \
    -r "$REPO/hub/requirements.txt" jupyterlab ipykernel "$package_copy" "$package_copy/grader"
  chmod -R go+rX "$PREFIX"
  echo "$code_hash" > "$PREFIX/.code"
  echo "$deps_hash" > "$PREFIX/.deps"
elif [ "$(cat "$PREFIX/.code" 2>/dev/null)" != "$code_hash" ]; then
  say "updating the course package in $PREFIX"
  "$PREFIX/bin/python" -m pip install --quiet --no-deps --force-reinstall "$package_copy" "$package_copy/grader"
  chmod -R go+rX "$PREFIX"
  echo "$code_hash" > "$PREFIX/.code"
fi


# 4. nbgrader's extensions and settings for every account of the hub. These files are what
# `jupyter labextension disable --level=sys_prefix @jupyter/nbgrader:formgrader` and `jupyter server
# extension disable --sys-prefix nbgrader.server_extensions.formgrader` write (nbgrader's JupyterHub
# guide), written directly: those commands take 10 s each on a busy machine. A user's own settings
# (~/.jupyter, written by hub/users.sh for instructors) take precedence over these.
mkdir -p "$PREFIX/etc/jupyter/labconfig"
cat > "$PREFIX/etc/jupyter/labconfig/page_config.json" <<'JSON'
{
  "disabledExtensions": {
    "@jupyter/nbgrader:formgrader": true,
    "@jupyter/nbgrader:create-assignment": true,
    "@jupyter/nbgrader:course-list": true
  }
}
JSON
cat > "$PREFIX/etc/jupyter/jupyter_server_config.json" <<'JSON'
{
  "ServerApp": {
    "jpserver_extensions": {
      "nbgrader.server_extensions.formgrader": false,
      "nbgrader.server_extensions.course_list": false,
      "nbgrader.server_extensions.assignment_list": true,
      "nbgrader.server_extensions.validate_assignment": true
    }
  }
}
JSON
mkdir -p "$PREFIX/etc/jupyter"
# The exchange can be moved for one hub (the tests run theirs in a scratch folder): the hub passes
# CNN_HUB_EXCHANGE on to every server it starts.
cat > "$PREFIX/etc/jupyter/nbgrader_config.py" <<CONFIG
# Written by hub/install.sh: nbgrader settings shared by every account of the course hub.
import os

c = get_config()  # noqa: F821
c.Exchange.root = os.environ.get("CNN_HUB_EXCHANGE", "$DEFAULT_EXCHANGE")
c.CourseDirectory.course_id = "$COURSE_ID"
# A student's Validate gets the time per cell that grading gets (the course's nbgrader_config.py):
# nbgrader's 30 s can be too short for the setup cell's TensorFlow import on a busy server.
c.ExecutePreprocessor.timeout = 60
CONFIG
chmod -R go+rX "$PREFIX/etc"

# 5. Folders.
mkdir -p "$EXCHANGE" "$STATE"
chmod 755 "$(dirname "$EXCHANGE")"
chmod 1777 "$EXCHANGE"
chmod 700 "$STATE"
say "ready: $PREFIX (environment), $EXCHANGE (exchange), $STATE (hub state)"
