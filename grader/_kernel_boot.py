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
   do not go through it;
5. the tampering guard (:func:`install_guard`): a second audit hook that keeps, out of reach of
   the notebook, the objects the tests rely on (``numpy.testing``, ``numpy.allclose``, builtins,
   ``sys.modules``, the IPython shell's transformers, exception handlers and methods), checks them
   whenever the grader asks (before and after every cell), puts them back before every test cell,
   checks that a test cell's code is what ran, and answers the grader through a pipe whose lines
   carry an HMAC under a key the notebook never sees (see :mod:`grader.tamper`).

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


# ---------------------------------------------------------------- tampering guard
#
# The grader sends, as silent cells, string literals "<GUARD_MARK>:<nonce>:<command>:<argument>";
# the guard sees each one in the "compile" audit event, does the command and answers on the pipe
# with one line: "<hmac> <json>". Commands: "boot" (remember the shell as it is before any student
# code), "course" (remember the modules the course's own cells bound), "post" (check), "test"
# (check, put everything back, expect the test cell whose transformed source has the sha256
# ``argument``).
GUARD_MARK = "grader-guard-7c1e"
# builtins that IPython and ipykernel swap themselves, per cell
_SHELL_BUILTINS = frozenset({"exit", "quit", "get_ipython", "display", "help", "copyright", "credits", "license",
                             "input", "raw_input", "dreload"})
_GUARDED_MODULES = ("numpy", "numpy.testing", "numpy.testing._private.utils", "numpy._core.numeric",
                    "numpy._core.fromnumeric", "numpy._core.multiarray", "numpy.core.numeric")
_EVENTS = frozenset({"compile", "exec", "sys.settrace", "sys.setprofile", "_thread.start_new_thread",
                     "gc.get_objects", "gc.get_referrers", "sys.addaudithook"})


def install_guard(report_fd: int, *, library_paths: list[str]) -> None:  # noqa: C901 - one closure on purpose
    """Watch, from an audit hook, what the tests rely on; answer the grader on ``report_fd``.

    Everything the guard keeps lives in this closure: no module attribute, global or object the
    notebook can reach by name points to it (audit hooks cannot be listed or removed).
    """
    import builtins
    import hashlib
    import threading
    import types

    try:
        from _hashlib import hmac_digest as mac
    except ImportError:  # pragma: no cover - Python without OpenSSL
        import hmac

        mac = hmac.digest
    write, urandom, dumps = os.write, os.urandom, json.dumps
    sha256, gettrace, getprofile = hashlib.sha256, sys.gettrace, sys.getprofile
    settrace, setprofile = sys.settrace, sys.setprofile
    FunctionType, ModuleType = types.FunctionType, types.ModuleType
    isinstance_, getattr_, setattr_, type_, id_, len_, str_ = isinstance, getattr, setattr, type, id, len, str
    callable_, list_, sorted_, repr_, vars_, dict_, set_ = callable, list, sorted, repr, vars, dict, set
    modules = sys.modules
    sys_dict = sys.__dict__
    library = tuple(os.path.realpath(path).rstrip("/") + "/" for path in library_paths if path)
    boot_file = os.path.realpath(__file__)
    missing = object()
    key = urandom(32)

    def send(payload: dict) -> None:
        body = dumps(payload, sort_keys=True).encode()
        write(report_fd, mac(key, body, "sha256").hex().encode() + b" " + body + b"\n")

    send({"key": key.hex()})  # before any student code exists: the grader reads it first

    # what the tests rely on, as it is now (nothing of the student's has run yet)
    entries = []  # (namespace dict, name, object, label)
    functions = []  # (function, __code__, __defaults__, __kwdefaults__, label)
    seen_functions = set_()

    def remember_function(function, label):
        if isinstance_(function, FunctionType) and id_(function) not in seen_functions:
            seen_functions.add(id_(function))
            functions.append((function, function.__code__, function.__defaults__, function.__kwdefaults__, label))
        implementation = getattr_(function, "_implementation", None)  # numpy's array-function dispatchers
        if isinstance_(implementation, FunctionType):
            remember_function(implementation, label)

    def remember_namespace(namespace, prefix, skip=()):
        for name, value in list_(namespace.items()):
            if name in skip or (name.startswith("_") and name not in ("__import__", "__build_class__")):
                continue
            if callable_(value) or isinstance_(value, ModuleType):
                entries.append((namespace, name, value, prefix + name))
                remember_function(value, prefix + name)

    remember_namespace(builtins.__dict__, "builtins.", _SHELL_BUILTINS)
    try:
        import numpy.testing  # noqa: F401 - the tests' helpers, imported before any student code
    except (ImportError, OSError):  # not installed, or not readable in this sandbox: the cells will say so
        pass
    module_entries = [("builtins", builtins), ("sys", sys)]
    for name in _GUARDED_MODULES:
        module = modules.get(name)
        if module is not None:
            module_entries.append((name, module))
            remember_namespace(module.__dict__, ("np." + name[6:] + "." if name != "numpy" else "np.").replace("..", "."))
    hooks = [("sys.excepthook", sys_dict, "excepthook", sys.excepthook)]
    thread_hooks = [(name, getattr_(threading, name, None)) for name in ("_trace_hook", "_profile_hook")]
    state = {"busy": False, "shell": None, "pending": None, "course": {}, "queued": [], "sequence": 0}
    shell_parts = []  # (object, instance-dict snapshot, class, class-dict snapshots, label)
    shell_lists = []  # (owner, attribute, list object, contents, label)

    def from_library(function) -> bool:
        function = getattr_(function, "__func__", function)
        code = getattr_(function, "__code__", None)
        if code is None:
            return False
        path = code.co_filename
        return path == boot_file or path.startswith(library)

    def note(finding: str) -> None:
        if finding not in state["queued"]:
            state["queued"].append(finding)

    def remember_object(obj, label):
        cls = type_(obj)
        classes = [(klass, dict_(vars_(klass))) for klass in cls.__mro__ if klass is not object]
        shell_parts.append((obj, dict_(getattr_(obj, "__dict__", {})), cls, classes, label))

    def remember_shell():
        from IPython.core.getipython import get_ipython

        shell = get_ipython()
        if shell is None:
            return
        state["shell"] = shell
        remember_object(shell, "the IPython shell")
        for owner, label in ((getattr_(shell, "kernel", None), "the kernel"),
                             (getattr_(getattr_(shell, "kernel", None), "session", None), "the kernel's session"),
                             (shell.input_transformer_manager, "IPython's input transformer manager"),
                             (shell.compile, "IPython's compiler"), (shell.events, "IPython's events"),
                             (shell.displayhook, "IPython's display hook")):
            if owner is not None:
                remember_object(owner, label)
        manager = shell.input_transformer_manager
        for owner, attribute, label in ((shell, "input_transformers_cleanup", "input transformers"),
                                        (shell, "input_transformers_post", "input transformers"),
                                        (shell, "ast_transformers", "AST transformers"),
                                        (manager, "cleanup_transforms", "input transformers"),
                                        (manager, "line_transforms", "input transformers"),
                                        (manager, "token_transformers", "input transformers")):
            value = getattr_(owner, attribute, None)
            if isinstance_(value, list_) and not any(value is known for _, _, known, _, _ in shell_lists):
                shell_lists.append((owner, attribute, value, list_(value), label))
        hooks.append(("sys.excepthook", sys_dict, "excepthook", sys.excepthook))
        state["custom"] = (shell.custom_exceptions, vars_(shell).get("CustomTB", missing))
        state["events"] = {name: list_(callbacks) for name, callbacks in shell.events.callbacks.items()}
        state["namespace"] = {name: value for name, value in shell.user_ns.items() if callable_(value)}

    def check(restore: bool) -> list:
        found = []
        for namespace, name, value, label in entries:
            if namespace.get(name, missing) is not value:
                found.append(f"replaced {label}")
                if restore:
                    namespace[name] = value
        for function, code, defaults, kwdefaults, label in functions:
            if function.__code__ is not code or function.__defaults__ is not defaults or function.__kwdefaults__ is not kwdefaults:
                found.append(f"rewrote the code or defaults of {label}")
                if restore:
                    function.__code__, function.__defaults__, function.__kwdefaults__ = code, defaults, kwdefaults
        for name, module in module_entries:
            if modules.get(name, missing) is not module:
                found.append(f"swapped sys.modules[{name!r}]")
                if restore:
                    modules[name] = module
        if sys_dict.get("modules") is not modules:
            found.append("replaced sys.modules")
            if restore:
                sys_dict["modules"] = modules
        if gettrace() is not None:
            found.append("installed a trace function (sys.settrace)")
            if restore:
                settrace(None)
        if getprofile() is not None:
            found.append("installed a profile function (sys.setprofile)")
            if restore:
                setprofile(None)
        for name, value in thread_hooks:
            if getattr_(threading, name, None) is not value:
                found.append(f"installed a trace or profile function for threads (threading.{name})")
                if restore:
                    setattr_(threading, name, value)
        label, namespace, name, value = hooks[-1]
        current = namespace.get(name, missing)
        # IPython points sys.excepthook at the shell's own while it runs a cell
        during_cell = getattr_(current, "__self__", missing) is state["shell"] and getattr_(
            current, "__func__", missing) is getattr_(type_(state["shell"]), "excepthook", None)
        if current is not value and not during_cell:
            found.append(f"replaced {label}")
            if restore:
                namespace[name] = value
        for thread in list_(getattr_(threading, "_active", {}).values()):
            strange = [target for target in thread_targets(thread) if not from_library(target)]
            if strange:
                found.append(f"started a thread running {getattr_(strange[0], '__qualname__', repr_(strange[0]))[:80]}")
        shell = state["shell"]
        if shell is not None:
            found += check_shell(shell, restore)
        return found

    def check_shell(shell, restore):
        found = []
        for obj, instance, cls, classes, label in shell_parts:
            if type_(obj) is not cls:
                found.append(f"changed the class of {label}")
                if restore:
                    obj.__class__ = cls
            methods = set_()
            for klass, snapshot in classes:
                current = vars_(klass)
                for name, value in snapshot.items():
                    kind = callable_(value) or isinstance_(value, (staticmethod, classmethod, property))
                    if kind and current.get(name, missing) is not value:
                        found.append(f"replaced {klass.__name__}.{name} ({label})")
                        if restore:
                            setattr_(klass, name, value)
                methods.update(snapshot)
            own = getattr_(obj, "__dict__", None)
            if own is None:
                continue
            for name, value in list_(own.items()):
                before = instance.get(name, missing)
                if value is before or not callable_(value):
                    continue
                if name in methods or callable_(before):
                    found.append(f"replaced {name} on {label}")
                    if restore:
                        if before is missing:
                            del own[name]
                        else:
                            own[name] = before
        for owner, attribute, value, contents, label in shell_lists:
            current = getattr_(owner, attribute, None)
            if current is not value or list_(current) != contents:
                found.append(f"changed IPython's {label} ({attribute})")
                if restore:
                    value[:] = contents
                    if current is not value:
                        try:
                            setattr_(owner, attribute, value)
                        except (AttributeError, TypeError):  # a read-only alias of another list
                            pass
        exceptions, custom_tb = state["custom"]
        if shell.custom_exceptions != exceptions or vars_(shell).get("CustomTB", missing) is not custom_tb:
            found.append("installed a custom exception handler (set_custom_exc)")
            if restore:
                shell.custom_exceptions = exceptions
                if custom_tb is missing:
                    vars_(shell).pop("CustomTB", None)
                else:
                    shell.CustomTB = custom_tb
        for name, callbacks in shell.events.callbacks.items():
            before = state["events"].get(name, [])
            for callback in list_(callbacks):
                if callback not in before and not from_library(callback):
                    found.append(f"registered an IPython {name} event callback")
                    if restore:
                        callbacks.remove(callback)
        namespace = shell.user_ns
        if namespace.get("__builtins__", missing) is not builtins and namespace.get("__builtins__", missing) is not builtins.__dict__:
            found.append("replaced __builtins__ of the notebook's namespace")
            if restore:
                namespace["__builtins__"] = builtins
        for name, value in state["course"].items():
            if namespace.get(name, missing) is not value:
                found.append(f"rebound {name}, which the course's own cells define")
                if restore:
                    namespace[name] = value
        for name in sorted_(namespace):
            original = builtins.__dict__.get(name, missing)
            value = namespace[name]
            if (original is not missing and value is not original and callable_(value) and name not in _SHELL_BUILTINS
                    and state["namespace"].get(name, missing) is not value):
                found.append(f"shadows the builtin {name} in the notebook's namespace")
        return found

    def remember_course():
        shell = state["shell"]
        if shell is None:
            return
        for name, value in list_(shell.user_ns.items()):
            if not name.startswith("_") and isinstance_(value, ModuleType):
                state["course"].setdefault(name, value)

    def request(text: str) -> None:
        parts = text.strip().strip("'\"").split(":")
        if len_(parts) < 3:
            return
        nonce, command, argument = parts[1], parts[2], ":".join(parts[3:])
        if nonce == state.get("nonce"):  # IPython may compile one request twice
            return
        state["nonce"] = nonce
        findings = list_(state["queued"])
        state["queued"].clear()
        pending = state["pending"]
        if pending is not None and command in ("post", "test"):
            if not pending["compiled"]:
                findings.append("the test cell's code was not what ran (it was rewritten or skipped before it ran)")
            elif not pending["executed"]:
                findings.append("the test cell was compiled but never executed")
            state["pending"] = None
        if command == "boot" and state["shell"] is None:
            remember_shell()
        if command == "course":
            remember_course()
        if command in ("post", "test", "course"):
            try:
                findings += check(restore=command == "test")
            except Exception as error:  # noqa: BLE001 - answered all the same: a silent guard zeroes every test
                findings.append(f"the grader's guard failed ({type_(error).__name__}: {str_(error)[:120]})")
        if command == "test":
            state["pending"] = {"sha": argument.split(","), "compiled": False, "executed": False, "files": set_()}
        state["sequence"] += 1
        send({"nonce": nonce, "findings": findings, "sequence": state["sequence"]})

    def thread_targets(thread):
        if not isinstance_(thread, threading.Thread) or type_(thread).__name__ in ("_MainThread", "_DummyThread"):
            return []
        targets = [getattr_(thread, "_target", None), getattr_(thread, "function", None)]
        if type_(thread).run is not threading.Thread.run:
            targets.append(type_(thread).run)
        return [target for target in targets if target is not None]

    def thread_target(args):
        function = args[0] if args else None
        owner = getattr_(function, "__self__", None)
        return thread_targets(owner) if isinstance_(owner, threading.Thread) else [function]

    def hook(event, args):
        if event not in _EVENTS or state["busy"]:
            return
        state["busy"] = True
        try:
            if event == "compile":
                source = args[0] if args else None
                if type_(source) is bytes:
                    source = source.decode("utf-8", "replace")
                if type_(source) is not str_:
                    return
                if GUARD_MARK in source[:60]:
                    request(source)
                    return
                pending = state["pending"]
                if pending is not None and sha256(source.encode()).hexdigest() in pending["sha"]:
                    pending["compiled"] = True
                    pending["files"].add(args[1] if len_(args) > 1 else None)
            elif event == "exec":
                pending = state["pending"]
                code = args[0] if args else None
                if pending is not None and pending["compiled"] and not pending["executed"]:
                    filename = getattr_(code, "co_filename", None)
                    if filename in pending["files"]:
                        pending["executed"] = True
                        for finding in check(restore=True):
                            note(finding + " (found as the test cell started)")
            elif event in ("sys.settrace", "sys.setprofile"):
                if args and args[0] is not None:
                    note(f"called {event} with a function")
            elif event == "_thread.start_new_thread":
                strange = [target for target in thread_target(args) if not from_library(target)]
                if strange:
                    note(f"started a thread running {getattr_(strange[0], '__qualname__', repr_(strange[0]))[:80]}")
            elif event in ("gc.get_objects", "gc.get_referrers"):
                note(f"walked the garbage collector ({event})")
            elif event == "sys.addaudithook":
                note("installed an audit hook (sys.addaudithook)")
        except Exception as error:  # noqa: BLE001 - a broken guard is a finding, never a crash of honest code
            note(f"the grader's guard failed ({type_(error).__name__}: {str_(error)[:120]})")
        finally:
            state["busy"] = False

    sys.addaudithook(hook)


def quicker_tracebacks() -> None:
    """Spare IPython's tracebacks a walk of every loaded module for each notebook-cell frame.

    IPython asks ``inspect.getmodule`` for the module of every frame of a traceback; for a frame of
    a notebook cell (a file no module was loaded from) it walks all of ``sys.modules`` each time
    (CPython issue gh-92041), some 10-15 ms with TensorFlow's thousands of modules loaded, so a
    failing test cell cost about 0.1 s more. Such a frame has no module: ``getmodule`` answers
    None for it, without the walk, as it would after one. IPython marks its cells in ``linecache``
    (an entry without a modification time); every other object goes to ``inspect.getmodule``.
    """
    import inspect
    import linecache
    import types

    original = inspect.getmodule

    def getmodule(object, _filename=None):  # noqa: A002 - inspect's own parameter names
        code = getattr(getattr(object, "tb_frame", object), "f_code", object)  # a traceback's or frame's code
        if type(code) is types.CodeType and not hasattr(object, "__module__"):
            filename = code.co_filename if _filename is None else _filename
            entry = linecache.cache.get(filename)
            if entry is not None and len(entry) == 4 and entry[1] is None and filename not in inspect.modulesbyfile:
                return None
        return original(object, _filename)

    getmodule.__doc__, getmodule.__wrapped__ = original.__doc__, original
    inspect.getmodule = getmodule


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
    if policy.get("guard_fd") is not None:
        install_guard(policy["guard_fd"], library_paths=policy.get("allow_read", []))
    quicker_tracebacks()
    import runpy

    sys.argv = ["ipykernel_launcher", *sys.argv[1:]]
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
