"""JupyterHub for one course on one server: hub/start.sh runs ``jupyterhub -f hub/jupyterhub_config.py``.

* Who may log in: the local accounts in the group ``cnn-course`` (hub/users.sh creates them), with
  their system password (PAM). For single sign-on from the LMS, see docs/hub.md (LTI).
* Each person's JupyterLab runs as that person, from the hub's environment (hub/install.sh), in
  their home folder (mode 700), so files are protected by the operating system itself.
* nbgrader: the exchange and the course id come from the environment's
  ``etc/jupyter/nbgrader_config.py`` (hub/install.sh); the formgrader is enabled per instructor.

Settings come from the environment so that a test can run a hub on free ports:
CNN_HUB_URL (``http://:8000``), CNN_HUB_API_PORT (8081), CNN_HUB_PROXY_API_PORT (8001),
CNN_HUB_PREFIX (``/opt/cnn-course-hub``), CNN_HUB_STATE (``/srv/cnn-course-hub``), CNN_HUB_EXCHANGE
(``/srv/nbgrader/exchange``).
"""

import os
import shutil

c = get_config()  # noqa: F821 (provided by traitlets when JupyterHub loads this file)

PREFIX = os.environ.get("CNN_HUB_PREFIX", "/opt/cnn-course-hub")
STATE = os.environ.get("CNN_HUB_STATE", "/srv/cnn-course-hub")
COURSE_GROUP = "cnn-course"

c.JupyterHub.bind_url = os.environ.get("CNN_HUB_URL", "http://:8000")
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{os.environ.get('CNN_HUB_API_PORT', '8081')}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('CNN_HUB_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [shutil.which("configurable-http-proxy") or "configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = os.path.join(STATE, "proxy.pid")
c.JupyterHub.db_url = "sqlite:///" + os.path.join(STATE, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(STATE, "jupyterhub.pid")
# A restarted hub finds the servers still running and takes them back: nobody loses open work.
c.JupyterHub.cleanup_servers = False

c.JupyterHub.authenticator_class = "pam"
c.LocalAuthenticator.allowed_groups = {COURSE_GROUP}
c.LocalAuthenticator.create_system_users = False

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(PREFIX, "bin", "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
# nbgrader's gradebook runs `alembic`, so the environment's bin comes first on PATH.
c.Spawner.environment = {"PATH": f"{PREFIX}/bin:/usr/local/bin:/usr/bin:/bin"}
if "CNN_HUB_EXCHANGE" in os.environ:  # a hub with its own exchange (the tests'): its servers use it too
    c.Spawner.environment["CNN_HUB_EXCHANGE"] = os.environ["CNN_HUB_EXCHANGE"]
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
