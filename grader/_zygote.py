"""The kernel zygote: imports what every kernel of a lab imports once, then forks each kernel.

The grader starts this file by path, ``python -I _zygote.py FD``, as the account kernels run as,
with the environment a kernel gets (no grader secrets; its own private folder as ``HOME``). It

1. imports ``ipykernel.kernelapp`` and the modules named in ``GRADER_ZYGOTE_PRELOAD`` (JSON list,
   in order), with the variables of ``GRADER_ZYGOTE_PRELOAD_ENV`` (JSON object) set meanwhile, and
   set again in every kernel unless its environment names them (as ``cnnkit.setup`` would); nothing else
   runs: no event loop, no zmq context, no TensorFlow op, so no thread pool exists yet;
2. answers one line on the socket ``FD`` (``{"ready": ...}``), then serves requests: each is a
   JSON object with, as passed file descriptors, the kernel's stderr and (optionally) the write
   end of its tampering guard's pipe. For each it forks a child, which becomes the kernel exactly
   as a freshly started ``python -I _kernel_boot.py`` would: its own session, stdin a pipe without
   a writer, stdout on /dev/null, every other descriptor closed (this socket included), the
   requested umask, the scratch
   folder as working directory, the kernel's environment (plus ``JPY_PARENT_PID``, the zygote,
   and the preload variables), a fresh seed for numpy's global generator, and then
   :func:`_kernel_boot.main` (limits, capabilities, Landlock, audit hook, tampering guard,
   ipykernel). The answer holds the child's pid and a pidfd for it (passed descriptor), so the
   grader can watch and signal a process that is not its own child. Like a kernel the launcher
   starts, which ends when the grader ends, a forked kernel ends when the zygote ends.

It exits when the grader closes the socket or dies (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import time
import traceback

PRELOAD_VARIABLE = "GRADER_ZYGOTE_PRELOAD"
PRELOAD_ENV_VARIABLE = "GRADER_ZYGOTE_PRELOAD_ENV"
BOOT_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_kernel_boot.py")
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE = 1, 4
MAX_REQUEST = 1 << 22


def _prctl(option: int, value: int) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _load_boot():
    spec = importlib.util.spec_from_file_location("grader._kernel_boot", BOOT_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def preload(names: list[str], extra_env: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """Import ``names`` (errors noted, never raised) with ``extra_env`` set only meanwhile.

    Returns what was imported, what failed, and every file the imports read: the modules' files
    and what Python opened meanwhile (the grader lets a kernel use the zygote only when its
    sandbox could have read all of them)."""
    saved = {name: os.environ.get(name) for name in extra_env}
    os.environ.update(extra_env)
    loaded, failed = [], []
    opened: set[str] = set()
    recording = [True]

    def record(event, args):
        if recording[0] and event == "open" and args and isinstance(args[0], (str, bytes)):
            opened.add(os.fsdecode(args[0]))

    sys.addaudithook(record)  # stays, inert: audit hooks cannot be removed
    try:
        for name in ["ipykernel.kernelapp", *names]:
            try:
                importlib.import_module(name)
                loaded.append(name)
            except Exception as error:  # noqa: BLE001 - the kernel will import it (and fail) itself
                failed.append(f"{name}: {type(error).__name__}: {error}")
    finally:
        recording[0] = False
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str):
            opened.add(path)
    return loaded, failed, sorted(os.path.realpath(path) for path in opened if os.path.isabs(path))


def _become_kernel(boot, request: dict, stderr_fd: int, guard_fd: int | None, kept_env: dict[str, str]) -> None:
    """In the forked child: turn into the kernel the request describes (never returns)."""
    code = 1
    try:
        os.setsid()
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, signal.SIG_DFL)
        stdin, writer = os.pipe()  # as jupyter_client's launcher: a pipe whose other end is closed
        os.close(writer)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(stdin, 0)
        os.dup2(devnull, 1)
        os.dup2(stderr_fd, 2)
        keep = {0, 1, 2} | ({guard_fd} if guard_fd is not None else set())
        for entry in os.listdir("/proc/self/fd"):
            if int(entry) not in keep:
                try:
                    os.close(int(entry))
                except OSError:
                    pass
        if guard_fd is not None:
            os.set_inheritable(guard_fd, True)
        os.umask(int(request["umask"]))
        _prctl(_PR_SET_DUMPABLE, 1)  # what exec would do (the zygote is not dumpable): /proc/self is the kernel's own
        os.chdir(request["cwd"])
        env = dict(request["env"])
        for name, value in kept_env.items():  # in effect when the modules were imported, as in a fresh kernel
            env.setdefault(name, value)
        # ipykernel ends the kernel when its parent ends (the launcher names the grader; here the zygote)
        env["JPY_PARENT_PID"] = str(os.getppid())
        policy = json.loads(env.get(boot.POLICY_VARIABLE, "{}"))
        if policy.get("guard_fd") is not None:
            policy["guard_fd"] = guard_fd
            env[boot.POLICY_VARIABLE] = json.dumps(policy)
        os.environ.clear()
        os.environ.update(env)
        numpy = sys.modules.get("numpy")
        if numpy is not None:  # its global generator was seeded once, in the zygote
            numpy.random.seed()
        sys.argv = [BOOT_SCRIPT, *request["argv"]]
        boot.main()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported on the kernel's stderr (kernel.log)
        try:
            traceback.print_exc()
        except BaseException:  # noqa: BLE001
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        os._exit(code)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(channel: socket.socket, boot, kept_env: dict[str, str]) -> None:
    while True:
        _reap()
        ready, _, _ = select.select([channel], [], [], 0.5)
        if not ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(channel, MAX_REQUEST, 4)
        except OSError:
            return
        if not data:
            return
        try:
            request = json.loads(data)
            stderr_fd = fds[0]
            guard_fd = fds[1] if len(fds) > 1 else None
        except (ValueError, IndexError) as error:
            for fd in fds:
                os.close(fd)
            channel.send(json.dumps({"error": f"bad request: {error}"}).encode())
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _become_kernel(boot, request, stderr_fd, guard_fd, kept_env)
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        try:
            socket.send_fds(channel, [json.dumps({"pid": pid}).encode()], [pidfd])
        except OSError:
            return
        finally:
            os.close(pidfd)


def main() -> None:
    channel = socket.socket(fileno=int(sys.argv[1]))
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(_PR_SET_DUMPABLE, 0)  # no process of the same user may ptrace it or read its memory
    if os.getppid() == 1:
        return
    boot_dir = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != boot_dir]
    started = time.monotonic()
    boot = _load_boot()
    kept_env = json.loads(os.environ.pop(PRELOAD_ENV_VARIABLE, "{}"))
    loaded, failed, files = preload(json.loads(os.environ.pop(PRELOAD_VARIABLE, "[]")), kept_env)
    with open("files.json", "w") as handle:  # in its own folder, for the grader (too long for one message)
        json.dump(files, handle)
    import threading

    answer = {
        "ready": True,
        "seconds": round(time.monotonic() - started, 3),
        "loaded": loaded,
        "failed": failed,
        "modules": sorted(name for name in sys.modules if "." not in name),
        "threads": len(os.listdir("/proc/self/task")),
        "python_threads": threading.active_count(),
        "fds": sorted(int(entry) for entry in os.listdir("/proc/self/fd")),
    }
    channel.send(json.dumps(answer).encode())
    serve(channel, boot, kept_env)


if __name__ == "__main__":
    main()
