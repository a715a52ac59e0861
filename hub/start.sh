#!/usr/bin/env bash
# Start the course hub, as root: install what is missing (hub/install.sh), then run JupyterHub
# in the foreground with hub/jupyterhub_config.py. Accounts: hub/users.sh. Guide: docs/hub.md.
#   hub/start.sh                      listens on http://:8000 (every interface, port 8000)
#   CNN_HUB_URL=http://127.0.0.1:9000 hub/start.sh
set -euo pipefail
HUB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${CNN_HUB_PREFIX:-/opt/cnn-course-hub}"
STATE="${CNN_HUB_STATE:-/srv/cnn-course-hub}"

"$HUB/install.sh"
# Students must not read the lab sources: warn when this checkout's solutions/ is open to them.
if [ -n "$(find "$HUB/../solutions" -maxdepth 0 -perm -o+r 2>/dev/null)" ]; then
  echo "hub/start: WARNING: $(cd "$HUB/.." && pwd)/solutions is readable by every account on this machine;" \
       "keep the checkout private (chmod -R o-rwx it) or remove it once hub/users.sh has copied the course" >&2
fi
cd "$STATE"
exec "$PREFIX/bin/jupyterhub" -f "$HUB/jupyterhub_config.py" "$@"
