#!/usr/bin/env bash
# Course accounts on the hub, as root (after hub/install.sh):
#   hub/users.sh student NAME...      one account per student, in the group cnn-course
#   hub/users.sh instructor NAME      an account in cnn-course and cnn-course-instructors, with
#                                     the course folder ~NAME/cnn-course (the lab sources and the
#                                     shipped nbgrader_config.py: safe grading) and the formgrader
#   hub/users.sh remove NAME...       delete the account and its home (its files in the exchange
#                                     stay, handed to root, so that nothing submitted is lost)
# Homes are mode 700. Passwords: `passwd NAME`, or CNN_HUB_PASSWORD for every account made by
# this call (used by the tests); with LTI log-in (docs/hub.md) accounts need no password.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${CNN_HUB_PREFIX:-/opt/cnn-course-hub}"
EXCHANGE="${CNN_HUB_EXCHANGE:-/srv/nbgrader/exchange}"
COURSE_ID="cnn-course"
GROUP="cnn-course"
INSTRUCTORS="cnn-course-instructors"
say() { echo "hub/users: $*"; }
usage() { sed -n 2,10p "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ "$(id -u)" = 0 ] || { say "run as root" >&2; exit 2; }
[ $# -ge 2 ] || usage
[ -x "$PREFIX/bin/jupyter" ] || { say "no hub environment in $PREFIX: run hub/install.sh first" >&2; exit 2; }
role="$1"; shift
for name in "$@"; do
  # The names nbgrader and POSIX accept alike: no '+' (nbgrader splits submissions on it), no '/'.
  [[ "$name" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || { say "not a valid account name: '$name' (lowercase letters, digits, - and _)" >&2; exit 2; }
done

make_account() {
  local name="$1"
  getent group "$GROUP" >/dev/null || groupadd "$GROUP"
  if ! id "$name" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$name"
    say "created account $name"
  fi
  usermod -a -G "$GROUP" "$name"
  chmod 700 "$(getent passwd "$name" | cut -d: -f6)"
  if [ -n "${CNN_HUB_PASSWORD:-}" ]; then
    echo "$name:$CNN_HUB_PASSWORD" | chpasswd
  fi
}

setup_instructor() {
  local name="$1" home course
  home="$(getent passwd "$name" | cut -d: -f6)"
  course="$home/$COURSE_ID"
  getent group "$INSTRUCTORS" >/dev/null || groupadd "$INSTRUCTORS"
  usermod -a -G "$INSTRUCTORS" "$name"
  if [ ! -d "$course" ]; then  # never overwrite a course in progress (its gradebook, its edits)
    mkdir -p "$course"
    cp -r "$REPO/solutions" "$REPO/nbgrader_config.py" "$course/"
    chown -R "$name:" "$course"
    chmod -R go-rwx "$course"
    say "course folder $course (sources from solutions/, the shipped nbgrader_config.py)"
  fi
  install -d -o "$name" -g "$name" -m 755 "$home/.jupyter"
  # The formgrader reads nbgrader_config.py from ~/.jupyter: it loads the course's own file.
  cat > "$home/.jupyter/nbgrader_config.py" <<CONFIG
# Written by hub/users.sh: the course folder and its settings (safe grading included).
c = get_config()  # noqa: F821
load_subconfig("$course/nbgrader_config.py")  # noqa: F821
c.CourseDirectory.root = "$course"
CONFIG
  chown "$name:" "$home/.jupyter/nbgrader_config.py"
  # The formgrader and the create-assignment toolbar for this account: what `jupyter labextension
  # enable --level=user` and `jupyter server extension enable --user` write (see hub/install.sh).
  install -d -o "$name" -g "$name" -m 755 "$home/.jupyter/labconfig"
  cat > "$home/.jupyter/labconfig/page_config.json" <<'JSON'
{"disabledExtensions": {"@jupyter/nbgrader:formgrader": false, "@jupyter/nbgrader:create-assignment": false}}
JSON
  cat > "$home/.jupyter/jupyter_server_config.json" <<'JSON'
{"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": true}}}
JSON
  chown "$name:" "$home/.jupyter/labconfig/page_config.json" "$home/.jupyter/jupyter_server_config.json"
  # The course's folder in the exchange belongs to the instructor before anyone else can take the name.
  if [ ! -d "$EXCHANGE/$COURSE_ID" ]; then
    install -d -o "$name" -g "$name" -m 755 "$EXCHANGE/$COURSE_ID"
  fi
}

case "$role" in
  student)
    for name in "$@"; do make_account "$name"; done ;;
  instructor)
    [ $# = 1 ] || usage
    make_account "$1"; setup_instructor "$1" ;;
  remove)
    for name in "$@"; do
      if id "$name" >/dev/null 2>&1; then
        uid="$(id -u "$name")"
        # End the account's processes (its JupyterLab, kernels) by id, then remove it.
        for pid in $(ps -o pid= -u "$uid"); do kill "$pid" 2>/dev/null || true; done
        sleep 1
        for pid in $(ps -o pid= -u "$uid"); do kill -9 "$pid" 2>/dev/null || true; done
        # Its files in the exchange (a submission not yet collected) stay, owned by root from now
        # on: a future account given the same uid must not own them.
        [ -d "$EXCHANGE" ] && find "$EXCHANGE" -user "$uid" -exec chown root:root {} + 2>/dev/null || true
        # What is left can only be zombies (on machines whose PID 1 does not reap them)
        userdel --remove "$name" 2>/dev/null || userdel --force --remove "$name"
        say "removed account $name"
      fi
    done ;;
  *) usage ;;
esac
