"""Start sandboxed kernels as forks of a zygote that imported the lab's modules once.

Importing TensorFlow costs every fresh kernel 5-8 s of CPU, more than most cells of a lab. A
*zygote* (``grader/_zygote.py``) is a process started once per grading process with the same
clean environment a kernel gets; it imports ipykernel and the modules the lab's own set-up cells
import (:func:`notebook_preload`), and then, for each kernel, forks a child that goes through the
same sandbox boot as a freshly started kernel (:mod:`grader._kernel_boot`: limits, capabilities,
Landlock, audit hook, tampering guard, then ipykernel). Nothing runs in the zygote but imports of
installed packages: no student code, no grader secret, no thread pool (TensorFlow creates its pools
at the first op, in the kernel, under the kernel's thread settings).

The kernel is the zygote's child, not the grader's: :class:`ForkedKernel` stands in for the
``subprocess.Popen`` object jupyter_client's provisioner keeps, watching and signalling the kernel
through a pidfd (which cannot outlive its process into a reused pid).

:func:`shared_zygote` keeps one zygote per grading process; when it cannot start or has died,
kernels start the plain way (one log line says so). ``c.SandboxKernelManager.zygote = False``
turns it off.
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ForkedKernel", "Zygote", "notebook_preload", "shared_zygote", "stop_shared_zygote"]

ZYGOTE_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_zygote.py")
PRELOAD_VARIABLE = "GRADER_ZYGOTE_PRELOAD"  # read by _zygote.py
PRELOAD_ENV_VARIABLE = "GRADER_ZYGOTE_PRELOAD_ENV"
MAX_ANSWER = 1 << 20


def notebook_preload(nb: Any) -> list[str]:
    """Modules the notebook's locked set-up cells import at top level, in order.

    Only locked cells that are neither answers nor tests count: nbgrader restores their source
    from the instructor's version before execution, so nothing a student wrote decides what the
    zygote imports, and a kernel imports these anyway, first thing.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook about to be executed.

    Returns
    -------
    list of str
        Module names (``from a.b import c`` gives ``a.b``), without duplicates.

    Example
    -------
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("import numpy as np\\nfrom cnnkit import labtools")
    >>> cell.metadata["nbgrader"] = {"locked": True, "solution": False, "grade": False}
    >>> notebook_preload(nbformat.v4.new_notebook(cells=[cell]))
    ['numpy', 'cnnkit']
    """
    names: list[str] = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not meta.get("locked") or meta.get("solution") or meta.get("grade"):
            continue
        source = cell.get("source", "")
        try:
            tree = ast.parse(source if isinstance(source, str) else "".join(source))
        except SyntaxError:  # IPython syntax (magics): its imports are left to the kernel
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.append(node.module)
    return list(dict.fromkeys(names))


class ForkedKernel:
    """The ``subprocess.Popen`` face of a kernel forked by the zygote (not a child of this process).

    ``poll`` and ``wait`` read the pidfd; signals go through it. The exit status belongs to the
    zygote, its parent: ``returncode`` is ``-signal`` after a signal sent through this object and
    0 after any other end.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int, pidfd: int) -> None:
        self.pid = pid
        self.args = ["<forked by the grading zygote>"]
        self.returncode: int | None = None
        self._pidfd: int | None = pidfd
        self._signalled = 0

    def poll(self) -> int | None:
        if self.returncode is None and self._pidfd is not None:
            ready, _, _ = select.select([self._pidfd], [], [], 0)
            if ready:
                self.returncode = -self._signalled if self._signalled else 0
                self._close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            assert self._pidfd is not None
            select.select([self._pidfd], [], [], 0.5 if left is None else min(left, 0.5))
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, number: int) -> None:
        if self.poll() is None and self._pidfd is not None:
            signal.pidfd_send_signal(self._pidfd, number)
            if number in (signal.SIGKILL, signal.SIGTERM):
                self._signalled = int(number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def _close(self) -> None:
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
            self._pidfd = None

    def __del__(self) -> None:
        self._close()


class Zygote:
    """One zygote process: started by the constructor, ready after :meth:`wait_ready`.

    Parameters
    ----------
    preload : sequence of str
        Modules it imports (after ``ipykernel.kernelapp``), in order.
    env : mapping
        Its environment (the kernel's clean environment, with its own folder as ``HOME``).
    preload_env : mapping
        Variables set in the zygote only while it imports.
    home : str
        Its private folder (working directory, log); removed by :meth:`close`.
    """

    def __init__(self, *, preload: Sequence[str], env: Mapping[str, str], preload_env: Mapping[str, str],
                 home: str, uid: int | None = None, gid: int | None = None) -> None:
        self.owner = os.getpid()
        self.home = home
        self.info: dict[str, Any] | None = None
        self.started = time.monotonic()
        self.ready_seconds: float | None = None
        self.problem = ""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        full_env = dict(env)
        full_env[PRELOAD_VARIABLE] = json.dumps(list(preload))
        full_env[PRELOAD_ENV_VARIABLE] = json.dumps(dict(preload_env))
        self._log = open(os.path.join(home, "zygote.log"), "wb")  # noqa: SIM115 - closed in close()
        self._files: frozenset[str] | None = None
        account: dict[str, Any] = {}
        if uid is not None:  # the kernels' account: it imports only what they could read
            os.chown(home, uid, gid if gid is not None else -1)
            account = {"user": uid, "group": gid, "extra_groups": []}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", ZYGOTE_SCRIPT, str(theirs.fileno())],
                env=full_env, cwd=home, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True, **account,
            )
        finally:
            theirs.close()
        self.channel = ours

    def alive(self) -> bool:
        return self.process.poll() is None and self.channel.fileno() >= 0

    def log_tail(self, limit: int = 2000) -> str:
        from grader.sandbox import file_tail  # grader.sandbox imports this module when it starts a zygote

        return file_tail(os.path.join(self.home, "zygote.log"), limit)

    def _receive(self, timeout: float) -> tuple[dict[str, Any], list[int]]:
        ready, _, _ = select.select([self.channel], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no answer within {timeout:.0f} s")
        data, fds, _, _ = socket.recv_fds(self.channel, MAX_ANSWER, 2)
        if not data:
            raise ConnectionError("the zygote closed its socket")
        return json.loads(data), fds

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        """Block until the zygote has imported its modules; its report (modules, threads, fds)."""
        if self.info is None:
            self.info, _ = self._receive(timeout)
            self.ready_seconds = time.monotonic() - self.started
        return self.info

    def files(self) -> frozenset[str]:
        """Every file the zygote's imports read (module files, and what Python opened meanwhile),
        except in its own folder (caches it wrote itself, such as matplotlib's font list)."""
        if self._files is None:
            home = os.path.realpath(self.home).rstrip("/") + "/"
            with open(os.path.join(self.home, "files.json")) as handle:
                self._files = frozenset(path for path in json.load(handle) if not path.startswith(home))
        return self._files

    def spawn(self, *, argv: Sequence[str], env: Mapping[str, str], cwd: str, stderr_fd: int,
              guard_fd: int | None, timeout: float = 60) -> ForkedKernel:
        """Fork a kernel running ``_kernel_boot.py ARGV`` in ``cwd`` with ``env`` (as the zygote's account).

        Raises
        ------
        OSError, TimeoutError, ValueError
            When the zygote does not answer (dead, stuck) or refuses.
        """
        self.wait_ready(timeout)
        umask = os.umask(0o077)
        os.umask(umask)
        request = {"argv": list(argv), "env": dict(env), "cwd": cwd, "umask": umask}
        fds = [stderr_fd] + ([guard_fd] if guard_fd is not None else [])
        socket.send_fds(self.channel, [json.dumps(request).encode()], fds)
        answer, received = self._receive(timeout)
        if "pid" not in answer or not received:
            for fd in received:
                os.close(fd)
            raise ValueError(f"the zygote refused: {answer.get('error', answer)}")
        return ForkedKernel(int(answer["pid"]), received[0])

    def close(self) -> None:
        """Stop the zygote (kernels it forked are not affected) and remove its folder."""
        if self.owner != os.getpid():  # inherited through a fork: the parent's to stop
            with contextlib.suppress(OSError):
                self.channel.close()
            return
        with contextlib.suppress(OSError):
            self.channel.close()
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.SubprocessError):
            self.process.wait(10)
        self._log.close()
        shutil.rmtree(self.home, ignore_errors=True)


_shared: dict[str, Any] = {"zygote": None, "key": None, "broken": None}
atexit.register(lambda: stop_shared_zygote())


def shared_zygote(*, preload: Sequence[str], env: Mapping[str, str], preload_env: Mapping[str, str],
                  parent: str | None = None, log: logging.Logger | None = None,
                  uid: int | None = None, gid: int | None = None) -> Zygote | None:
    """This process's zygote for these settings, started on first use; None when it is unavailable.

    A zygote for other settings (another lab's modules, other thread settings) is stopped first.
    Once a zygote failed to start or died, this process starts its kernels the plain way (None).
    """
    key = json.dumps([list(preload), dict(env), dict(preload_env), uid, gid], sort_keys=True)
    current: Zygote | None = _shared["zygote"]
    if current is not None and current.owner != os.getpid():
        current.close()  # a forked worker's copy: only forgotten
        _shared.update(zygote=None, key=None, broken=None)
        current = None
    if _shared["broken"] == key:
        return None
    if current is not None and _shared["key"] == key:
        if current.alive():
            return current
        zygote_failed(current, "it died", log)
        return None
    stop_shared_zygote()
    home = tempfile.mkdtemp(prefix="grader-zygote-", dir=parent)
    env = dict(env, HOME=home, TMPDIR=home, IPYTHONDIR=os.path.join(home, ".ipython"),
               MPLCONFIGDIR=os.path.join(home, "matplotlib"), XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home,
               KERAS_HOME=os.path.join(home, ".keras"))
    try:
        zygote = Zygote(preload=preload, env=env, preload_env=preload_env, home=home, uid=uid, gid=gid)
    except OSError as error:
        shutil.rmtree(home, ignore_errors=True)
        _shared["broken"] = key
        (log or logging.getLogger(__name__)).warning(
            "grader: the kernel zygote could not start (%s); kernels start the plain way", error)
        return None
    _shared.update(zygote=zygote, key=key, broken=None)
    return zygote


def zygote_failed(zygote: Zygote, why: str, log: logging.Logger | None = None) -> None:
    """Give up on ``zygote`` for the rest of this process (one warning); kernels start the plain way."""
    if _shared["zygote"] is zygote:
        _shared["broken"] = _shared["key"]
        _shared.update(zygote=None, key=None)
    tail = zygote.log_tail(600).strip().replace("\n", " | ")
    (log or logging.getLogger(__name__)).warning(
        "grader: the kernel zygote is unavailable (%s)%s; kernels start the plain way from now on",
        why, f" [zygote log: {tail}]" if tail else "")
    zygote.close()


def stop_shared_zygote() -> None:
    """Stop this process's zygote, if any (and forget any failure)."""
    current = _shared["zygote"]
    _shared.update(zygote=None, key=None, broken=None)
    if current is not None:
        current.close()
