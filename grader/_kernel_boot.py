"""Start an IPython kernel inside the grading sandbox.

The grader runs this file by path, ``python -I _kernel_boot.py -f CONNECTION_FILE ...``, so it
needs nothing but the standard library (the grader also loads it to probe for Landlock). Before any
student code exists in the process it applies, in this order and each only where the policy asks
for it:

1. resource limits (largest file, core dumps, open files) and a high OOM score, so the kernel is
   the process the Linux OOM killer picks, not the grader;
2. dropping every Linux capability (when the grader runs as root and no unprivileged user could
   be used), so that "root" in the kernel is an ordinary user of its own files;
3. Landlock (Linux >= 5.13): the kernel may read the Python installation and system libraries,
   read and write its scratch directory, and nothing else: the course directory, the gradebook
   and other students' files do not exist for it. Landlock also stops it from signalling or
   ptracing processes outside the sandbox (ABI 6);
4. a Python audit hook that refuses file access outside the scratch directory, process creation
   and signals. It is defence in depth only: C extensions (TensorFlow's file API, h5py, ctypes)
   do not go through it.

The policy arrives as JSON in the environment variable ``GRADER_SANDBOX_POLICY``.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

POLICY_VARIABLE = "GRADER_SANDBOX_POLICY"

# Landlock (include/uapi/linux/landlock.h); the syscall numbers are the same on every architecture.
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_PR_SET_NO_NEW_PRIVS, _PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 38, 24, 47, 4
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_REMOVE_DIR, _REMOVE_FILE, _MAKE_CHAR, _MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
_MAKE_REG, _MAKE_SOCK, _MAKE_FIFO, _MAKE_BLOCK, _MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1
_FILE_ONLY_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def landlock_abi() -> int:
    """The Landlock ABI version of the running kernel, 0 when Landlock is unavailable."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        version = _libc().syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(int(version), 0)


def _handled_fs(abi: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    if abi >= 5:
        rights |= _IOCTL_DEV
    return rights


def apply_landlock(*, read: list[str], write: list[str], devices: list[str]) -> int:
    """Allow reading ``read``, everything but executing in ``write``, read/write/ioctl on the
    device files ``devices``; deny every other file-system access. Returns the ABI used."""
    abi = landlock_abi()
    if abi < 1:
        raise OSError("Landlock is not available in this kernel")
    libc = _libc()
    handled = _handled_fs(abi)
    attr = _RulesetAttr(handled, 0, (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0)
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)), 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    read_rights = _READ_FILE | _READ_DIR
    write_rights = handled & ~(_EXECUTE | _MAKE_CHAR | _MAKE_BLOCK)
    device_rights = handled & (_READ_FILE | _WRITE_FILE | _IOCTL_DEV | _TRUNCATE)
    try:
        for paths, rights in ((read, read_rights), (write, write_rights), (devices, device_rights)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue  # a path missing on this machine needs no rule
                try:
                    allowed = rights & handled
                    if not os.path.isdir(path):
                        allowed &= _FILE_ONLY_RIGHTS
                    rule = _PathBeneathAttr(allowed, fd)
                    if libc.syscall(_SYS_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0) < 0:
                        raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
                finally:
                    os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return abi


def drop_capabilities() -> None:
    """Remove every capability from this process and from anything it could execute."""
    libc = _libc()
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            last = int(handle.read())
    except OSError:
        last = 40
    for capability in range(last + 1):
        libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")


def apply_limits(limits: dict[str, int]) -> None:
    for name, value in limits.items():
        kind = getattr(resource, name)
        soft, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:
        pass


def _under(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def install_audit_hook(policy: dict) -> None:
    """Refuse, inside the interpreter, what the student's code has no business doing."""
    realpath, fspath, getpid = os.path.realpath, os.fspath, os.getpid
    scratch = [os.path.realpath(policy["scratch"])]
    deny_read = [os.path.realpath(path) for path in policy.get("deny_read", [])]
    allow_read = [os.path.realpath(path) for path in policy.get("allow_read", [])]
    write_files = {os.path.realpath(path) for path in policy.get("write_files", [])}
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    own_pid = str(getpid())

    def resolve(path):
        if isinstance(path, int) or path is None:
            return None
        try:
            path = fspath(path)
        except TypeError:
            return None
        if isinstance(path, bytes):
            path = path.decode("utf-8", "surrogateescape")
        return realpath(path)

    def readable(path: str) -> bool:
        if path.startswith("/proc/"):
            head = path[6:].split("/", 1)[0]
            if head.isdigit() and head != own_pid:
                return False
        if _under(path, scratch) or _under(path, allow_read):
            return True
        return not _under(path, deny_read)

    def writable(path: str) -> bool:
        return _under(path, scratch) or path in write_files

    def refuse(action: str, path=None):
        where = f" {path!r}" if path is not None else ""
        raise PermissionError(
            f"grader sandbox: {action}{where} is not allowed while grading; "
            "work with files in the notebook's own folder"
        )

    def check_write(*paths):
        for raw in paths:
            path = resolve(raw)
            if path is not None and not writable(path):
                refuse("changing", raw)

    def check_read(*paths):
        for raw in paths:
            path = resolve(raw)
            if path is not None and not readable(path):
                refuse("reading", raw)

    processes = {
        "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
        "os.forkpty", "pty.spawn", "os.startfile",
    }
    writes = {
        "os.remove", "os.rmdir", "os.truncate", "os.chmod", "os.chown", "os.mkdir", "os.utime",
        "os.chflags", "os.setxattr", "os.removexattr", "shutil.rmtree", "os.mkfifo", "os.mknod",
    }
    moves = {"os.rename", "shutil.move"}
    copies = {"os.link", "shutil.copytree", "shutil.copyfile"}
    reads = {"os.listdir", "os.scandir", "os.chdir", "glob.glob", "os.getxattr", "os.listxattr"}

    def hook(event, args):
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            if path is None or isinstance(path, int):
                return
            wants_write = bool(mode and any(letter in mode for letter in "wax+")) or bool(
                flags and flags & write_flags
            )
            if wants_write:
                check_write(path)
            else:
                check_read(path)
        elif event in writes:
            if args:
                check_write(args[0])
        elif event in moves:
            check_write(*args[:2])
        elif event in copies:
            check_read(args[0])
            check_write(args[1])
        elif event == "os.symlink":
            check_write(args[1])
        elif event in reads:
            if args:
                check_read(args[0])
        elif event == "sqlite3.connect":
            database = args[0] if args else None
            if isinstance(database, (str, bytes, os.PathLike)):
                name = fspath(database)
                name = name.decode() if isinstance(name, bytes) else name
                if name in ("", ":memory:") or name.startswith("file::memory:"):
                    return
                if name.startswith("file:"):
                    name = name[5:].split("?", 1)[0]
                check_write(name)
        elif event in processes:
            refuse("starting another process")
        elif event in ("os.kill", "os.killpg"):
            if args and args[0] not in (0, getpid()):
                refuse("sending a signal to another process")

    sys.addaudithook(hook)


def main() -> None:
    policy = json.loads(os.environ.get(POLICY_VARIABLE, "{}"))
    # python -I keeps the script's folder off sys.path already; make sure nothing else points here
    boot_dir = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != boot_dir]
    apply_limits(policy.get("limits", {}))
    if policy.get("drop_capabilities"):
        drop_capabilities()
    if policy.get("landlock"):
        apply_landlock(
            read=policy.get("landlock_read", []),
            write=[policy["scratch"]],
            devices=policy.get("write_files", []),
        )
    if policy.get("audit_hook", True):
        install_audit_hook(policy)
    import runpy

    sys.argv = ["ipykernel_launcher", *sys.argv[1:]]
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
