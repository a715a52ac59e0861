"""Run each student's kernel in a sandbox, so that grading code never trusts student code.

Only the kernel runs student code; the nbgrader process that writes the gradebook stays outside.
:class:`SandboxKernelManager` (set as ``kernel_manager_class`` of the execute preprocessor)
starts every kernel

* in a fresh scratch directory holding a copy of the student's own files only (never the
  notebooks being graded, which contain the hidden tests, and never a symbolic link), with a clean
  environment (no secrets of the grader's environment) and ``HOME`` inside the scratch directory;
* as an unprivileged user when the grader runs as root and that user can run the Python
  installation (``nobody`` unless configured), or as root without any capability otherwise;
* under Landlock where the Linux kernel offers it: the kernel reads the Python installation and
  system libraries, writes its scratch directory and sees nothing else;
* with a Python audit hook refusing file access outside the scratch directory, process creation
  and signals (defence in depth for machines without Landlock);
* with limits: largest file written, no core dumps, a high OOM score, and a cap on the size of a
  single message the grader accepts from the kernel.

:func:`detect_isolation` reports which of these layers this machine provides.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import functools
import importlib.util
import json
import os
import pwd
import shutil
import signal
import site
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

import zmq
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Bool, Dict, Integer, List, Unicode

__all__ = [
    "IsolationPlan",
    "SandboxKernelManager",
    "detect_isolation",
    "kernel_read_paths",
    "protect_course_files",
]

BOOT_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_kernel_boot.py")

# System locations a Python kernel reads from; anything containing a protected path is granted
# around that path (its other children), never as a whole.
SYSTEM_READ_PATHS = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/proc", "/sys")
# Readable for root even without capabilities (owner bits), so never granted.
SECRET_SYSTEM_PATHS = (
    "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers", "/etc/sudoers.d",
    "/etc/ssh", "/etc/ssl/private", "/etc/security/opasswd",
)
DEVICE_FILES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
# Environment variables that reach the kernel; everything else (tokens, passwords) stays behind.
ENV_PASSTHROUGH = (
    "LANG", "LANGUAGE", "LC_*", "TZ", "NBGRADER_EXECUTION", "TF_*", "KERAS_BACKEND", "OMP_*",
    "MKL_*", "OPENBLAS_*", "CUDA_*", "NVIDIA_*", "XLA_*", "LD_LIBRARY_PATH", "PYTHONHASHSEED",
    "MPLBACKEND",
)


# cnnkit.setup sets these before it imports TensorFlow (which reads them at import, oneDNN's choice of
# kernels included); the zygote imports TensorFlow under the same settings, then drops them
ZYGOTE_PRELOAD_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}

# cnnkit.labtools.reference reads these (named there too; the grader does not import cnnkit)
REFERENCES_VARIABLE = "CNNKIT_REFERENCES"
REFERENCE_DIGESTS_VARIABLE = "CNNKIT_REFERENCE_DIGESTS"
REFERENCES_SAVE_VARIABLE = "CNNKIT_REFERENCES_SAVE"
REFERENCES_SUBFOLDER = ".references"

# Runs inside the kernel at start-up (copied as an IPython startup file into the scratch folder).
KERNEL_STARTUP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_kernel_startup.py")

# Prints, from the kernel's interpreter started as the grader starts kernels (``-I``), every
# place an import can read from: sys.path and the folders of editable installs (setuptools'
# finders map package names to source folders anywhere on disk).
_IMPORT_PROBE = r"""
import json, sys
paths = [entry for entry in sys.path if entry]
for finder in sys.meta_path:
    module = sys.modules.get(getattr(finder, "__module__", "") or "")
    paths += list(getattr(module, "MAPPING", {}).values())
    for folders in getattr(module, "NAMESPACES", {}).values():
        paths += list(folders)
print(json.dumps(paths))
"""


@dataclasses.dataclass(frozen=True)
class IsolationPlan:
    """Which sandbox layers a kernel started on this machine gets.

    Attributes
    ----------
    user : str or None
        Unprivileged account the kernel runs as, or None to keep the grader's account.
    uid, gid : int or None
        Its numeric ids.
    drop_capabilities : bool
        Root kernel without any Linux capability (used when no account can run Python).
    landlock_abi : int
        Landlock ABI applied to the kernel, 0 when none.
    audit_hook : bool
        Python audit hook installed in the kernel.
    notes : tuple of str
        Why a layer is missing, in words.
    """

    user: str | None
    uid: int | None
    gid: int | None
    drop_capabilities: bool
    landlock_abi: int
    audit_hook: bool
    notes: tuple[str, ...] = ()

    @property
    def kernel_enforced(self) -> bool:
        """True when the operating system, not only Python, keeps the kernel away from the course."""
        return self.landlock_abi > 0 or self.user is not None

    def layers(self) -> list[str]:
        """One line per active layer."""
        lines = ["scratch directory with a copy of the student's files; clean environment"]
        if self.user is not None:
            lines.append(f"runs as unprivileged user {self.user!r} (uid {self.uid})")
        elif self.drop_capabilities:
            lines.append("runs as root without any Linux capability")
        else:
            lines.append("runs as the grader's own user")
        if self.landlock_abi:
            lines.append(f"Landlock ABI {self.landlock_abi}: the kernel opens only its scratch folder, Python and system folders")
        if self.audit_hook:
            lines.append("Python audit hook: file access outside scratch, processes and signals refused")
        return lines

    def describe(self) -> str:
        """The layers and notes as one paragraph."""
        text = "; ".join(self.layers())
        if self.notes:
            text += ". Notes: " + " ".join(self.notes)
        return text


def _boot_module():
    """The boot script as a module (it is a standalone file, run by path in kernels)."""
    spec = importlib.util.spec_from_file_location("grader._kernel_boot", BOOT_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


POLICY_VARIABLE = _boot_module().POLICY_VARIABLE  # the policy's one definition is the boot script's


def _landlock_abi() -> int:
    return _boot_module().landlock_abi()


def _user_can_run_python(account: pwd.struct_passwd) -> bool:
    """Whether ``account`` can start this Python with ipykernel (it may lack access to e.g. /root)."""
    with tempfile.TemporaryDirectory(prefix="grader-probe-") as probe:
        os.chmod(probe, 0o755)
        try:
            result = subprocess.run(
                [sys.executable, "-I", "-c", "import ipykernel, numpy"],
                cwd=probe,
                env={"PATH": os.defpath, "HOME": probe},
                user=account.pw_uid,
                group=account.pw_gid,
                extra_groups=[],
                capture_output=True,
                timeout=60,
            )
        except (OSError, subprocess.SubprocessError):
            return False
    return result.returncode == 0


@functools.cache
def detect_isolation(*, sandbox_user: str = "auto", landlock: str = "auto", audit_hook: bool = True) -> IsolationPlan:
    """Choose the strongest sandbox this machine supports.

    Parameters
    ----------
    sandbox_user : str, default "auto"
        Account for kernels when the grader runs as root. "auto" tries ``grader-sandbox`` then
        ``nobody``; "none" keeps the grader's account; any other value is an account name.
    landlock : {"auto", "on", "off"}
        "auto" uses Landlock when the Linux kernel supports it; "on" requires it.
    audit_hook : bool, default True
        Install the in-kernel audit hook.

    Returns
    -------
    IsolationPlan

    Raises
    ------
    ValueError
        When ``landlock`` is not one of the three words, ``landlock="on"`` and the kernel lacks
        Landlock, or a named ``sandbox_user`` does not exist.

    Example
    -------
    >>> print(detect_isolation().describe())  # doctest: +SKIP
    """
    if landlock not in ("auto", "on", "off"):
        raise ValueError(f"detect_isolation: landlock must be 'auto', 'on' or 'off'; received {landlock!r}")
    notes = []
    abi = _landlock_abi() if landlock != "off" else 0
    if landlock == "on" and abi == 0:
        raise ValueError("detect_isolation: landlock='on' but this Linux kernel offers no Landlock")
    if landlock == "auto" and abi == 0:
        notes.append("Landlock is unavailable (Linux >= 5.13 with Landlock enabled provides it).")
    user = uid = gid = None
    drop = False
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if sandbox_user == "none":
            candidates: Sequence[str] = ()
        elif sandbox_user == "auto":
            candidates = ("grader-sandbox", "nobody")
        else:
            try:
                pwd.getpwnam(sandbox_user)
            except KeyError:
                raise ValueError(
                    f"detect_isolation: sandbox_user {sandbox_user!r} does not exist; create it with "
                    f"`useradd --system --no-create-home --shell /usr/sbin/nologin {sandbox_user}`"
                ) from None
            candidates = (sandbox_user,)
        for name in candidates:
            try:
                account = pwd.getpwnam(name)
            except KeyError:
                continue
            if _user_can_run_python(account):
                user, uid, gid = name, account.pw_uid, account.pw_gid
                break
            notes.append(
                f"User {name!r} cannot run {sys.executable} (a parent folder such as /root is private), "
                "so kernels run as root without capabilities."
            )
        if user is None:
            drop = True
            if not abi:
                notes.append(
                    "WARNING: root kernel without Landlock: only the audit hook protects the course files."
                )
    elif not abi:
        notes.append("Without Landlock only the Python audit hook protects the course files.")
    return IsolationPlan(user, uid, gid, drop, abi, audit_hook, tuple(notes))


def file_tail(path: str, limit: int = 2000) -> str:
    """The last ``limit`` bytes of the log file ``path`` as text ("" when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _grant_around(path: str, protected: Sequence[str]) -> list[str]:
    """``path`` itself if it holds no protected path, else its children, recursively.

    Links are resolved first: Landlock grants the inode a path opens, so a link such as a
    virtual environment's ``lib64 -> lib`` would otherwise grant what it points to, protected
    paths included."""
    path = os.path.realpath(path)
    if any(_is_within(path, guarded) for guarded in protected):
        return []
    if not any(_is_within(guarded, path) for guarded in protected):
        return [path]
    try:
        children = sorted(os.listdir(path))
    except OSError:
        return []
    granted = []
    for child in children:
        granted.extend(_grant_around(os.path.join(path, child), protected))
    return granted


@functools.cache
def _importable_paths() -> tuple[str, ...]:
    """Where the kernel's interpreter imports from (sys.path and editable installs)."""
    try:
        done = subprocess.run([sys.executable, "-I", "-c", _IMPORT_PROBE], capture_output=True, text=True,
                              timeout=120, env={"PATH": os.defpath})
        found = json.loads(done.stdout) if done.returncode == 0 else []
    except (OSError, subprocess.SubprocessError, ValueError):
        found = []
    return tuple(found)


def kernel_read_paths(packages: Sequence[str] = ()) -> list[str]:
    """Every path the kernel may read to import what the course's interpreter can import.

    The Python installation (prefixes), every ``sys.path`` entry of the interpreter as kernels
    start it (``-I``: site-packages, ``.pth`` paths), the source folders of editable installs
    wherever they are, and the folders of ``packages``; nothing else.

    Parameters
    ----------
    packages : sequence of str
        Importable package names whose folders are added (``kernel_packages``).

    Returns
    -------
    list of str
        Existing real paths, sorted, without duplicates.
    """
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    paths.update(site.getsitepackages())
    paths.update(_importable_paths())
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            paths.update(spec.submodule_search_locations)
        elif spec.origin:
            paths.add(spec.origin)
    return sorted({os.path.realpath(path) for path in paths if path and os.path.exists(path)})


def _may_read(path: str, policy: dict[str, Any]) -> bool:
    """Whether a kernel under ``policy`` may open ``path`` (a real path) for reading: the audit
    hook's rule and Landlock's (the account's file permissions are the zygote's own)."""
    if policy.get("audit_hook", True):
        inside = _is_within(path, policy["scratch"]) or any(_is_within(path, root) for root in policy.get("allow_read", []))
        if not inside and any(_is_within(path, root) for root in policy.get("deny_read", [])):
            return False
    if policy.get("landlock"):
        return any(_is_within(path, root) for root in policy.get("landlock_read", []) + policy.get("write_files", []))
    return True


@functools.lru_cache(maxsize=8)
def _unreadable_cached(files: frozenset[str], rules: str) -> str:
    policy = json.loads(rules)
    return next((path for path in sorted(files) if not _may_read(path, policy)), "")


def _unreadable(files: frozenset[str], policy: dict[str, Any]) -> str:
    """The first of ``files`` a kernel under ``policy`` could not read, or ""."""
    rules = {key: policy.get(key) for key in ("audit_hook", "allow_read", "deny_read", "landlock", "landlock_read",
                                              "write_files")}
    rules["scratch"] = "/nonexistent-scratch"  # the zygote read nothing of a kernel's scratch folder
    return _unreadable_cached(files, json.dumps(rules, sort_keys=True))


def _copy_student_files(source: str, target: str, *, exclude: Sequence[str], max_bytes: int) -> list[str]:
    """Copy regular files (never links, devices or excluded names) from ``source`` to ``target``."""
    skipped, total = [], 0
    for folder, dirnames, filenames in os.walk(source):
        relative = os.path.relpath(folder, source)
        for name in list(dirnames):
            if os.path.islink(os.path.join(folder, name)):
                dirnames.remove(name)
                skipped.append(os.path.join(relative, name))
        os.makedirs(os.path.join(target, relative), exist_ok=True)
        for name in filenames:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            rel = os.path.normpath(os.path.join(relative, name))
            if not stat.S_ISREG(info.st_mode) or any(fnmatch.fnmatch(name, pattern) for pattern in exclude):
                skipped.append(rel)
                continue
            total += info.st_size
            if total > max_bytes:
                skipped.append(rel)
                continue
            shutil.copyfile(path, os.path.join(target, rel), follow_symlinks=False)
    return skipped


def _kill_leftovers(scratch: str) -> None:
    """Kill processes still working inside ``scratch`` (a kernel that forked past the audit hook)."""
    own = os.getpid()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit() or int(entry) == own:
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if _is_within(cwd, scratch):
            with contextlib.suppress(OSError):
                os.kill(int(entry), signal.SIGKILL)


class SandboxKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` that starts the kernel inside the grading sandbox.

    Configure it with ``c.SafeExecute.kernel_manager_class`` (``grader.config.safe_config`` does).
    """

    sandbox_user = Unicode("auto", help="Account for kernels when grading as root: auto, none or a name.").tag(config=True)
    landlock = Unicode("auto", help="Use Landlock: auto, on or off.").tag(config=True)
    audit_hook = Bool(True, help="Install the in-kernel audit hook.").tag(config=True)
    protected_paths = List(Unicode(), help="Paths the kernel must never read (the course root).").tag(config=True)
    kernel_packages = List(Unicode(), ["cnnkit"], help="Editable packages the kernel may import.").tag(config=True)
    extra_read_paths = List(Unicode(), help="More read-only paths for the kernel (datasets).").tag(config=True)
    scratch_parent = Unicode("", help="Where scratch directories go (default: the temp folder).").tag(config=True)
    copy_exclude = List(Unicode(), ["*.ipynb"], help="Student files not copied to the scratch directory.").tag(config=True)
    max_copy_bytes = Integer(1 << 30, help="Most bytes of student files copied.").tag(config=True)
    max_file_bytes = Integer(1 << 30, help="Largest file the kernel may write (RLIMIT_FSIZE).").tag(config=True)
    max_message_bytes = Integer(64 << 20, help="Largest message accepted from the kernel.").tag(config=True)
    cell_output_limit = Integer(200_000, help="Characters a cell may print before the kernel drops the rest.").tag(config=True)
    max_open_files = Integer(4096, help="RLIMIT_NOFILE of the kernel.").tag(config=True)
    env_passthrough = List(Unicode(), list(ENV_PASSTHROUGH), help="Variables (fnmatch) passed to the kernel.").tag(config=True)
    tamper_guard = Bool(True, help="Start the in-kernel tampering guard (grader.tamper).").tag(config=True)
    references = Unicode("", help="Folder of reference models (cnnkit.labtools.reference) kernels may read.").tag(config=True)
    reference_digests = Dict(help="{file: sha256} of the reference models kernels may load; no other file is trusted.").tag(config=True)
    collect_references = Unicode(
        "", help="Folder receiving the reference models the kernel trains (the solution check only); empty: none."
    ).tag(config=True)
    zygote = Bool(
        True, help="Fork kernels from a zygote that imported the lab's modules once (grader.zygote); False: start each afresh."
    ).tag(config=True)
    preload = List(
        Unicode(), ["auto"],
        help="Modules the zygote imports; 'auto' stands for those the notebook's locked set-up cells import. Empty: no zygote.",
    ).tag(config=True)
    preload_env = Dict(
        dict(ZYGOTE_PRELOAD_ENV),
        help="Variables set in the zygote only while it imports (cnnkit.setup sets these before it imports TensorFlow).",
    ).tag(config=True)
    zygote_timeout = Integer(300, help="Seconds the zygote may take to import its modules before kernels start afresh.").tag(config=True)
    notebook_preload = List(Unicode(), help="Modules 'auto' stands for (set by SafeExecute from the notebook).")

    _sandbox_root: str | None = None
    _scratch: str | None = None
    _guard_write: int | None = None
    guard: Any = None  # grader.tamper.GuardChannel of the running kernel

    @property
    def plan(self) -> IsolationPlan:
        return detect_isolation(sandbox_user=self.sandbox_user, landlock=self.landlock, audit_hook=self.audit_hook)

    @property
    def scratch(self) -> str | None:
        """The kernel's working directory while it runs."""
        return self._scratch

    def _make_scratch(self, student_dir: str | None) -> None:
        plan = self.plan
        parent = self.scratch_parent or None
        self._sandbox_root = tempfile.mkdtemp(prefix="grader-sandbox-", dir=parent)
        self._scratch = os.path.join(self._sandbox_root, "work")
        os.mkdir(self._scratch, 0o700)
        if student_dir and os.path.isdir(student_dir):
            skipped = _copy_student_files(
                student_dir, self._scratch, exclude=self.copy_exclude, max_bytes=self.max_copy_bytes
            )
            if skipped:
                self.log.info("Sandbox: not copied into the kernel's folder: %s", ", ".join(skipped))
        for sub in ("tmp", ".config", ".cache", os.path.join(".ipython", "profile_default", "startup")):
            os.makedirs(os.path.join(self._scratch, sub), exist_ok=True)
        startup = os.path.join(self._scratch, ".ipython", "profile_default", "startup", "00-grader.py")
        shutil.copyfile(KERNEL_STARTUP, startup)
        if plan.user is not None:
            os.chmod(self._sandbox_root, 0o711)
            for folder, dirnames, filenames in os.walk(self._scratch):
                for name in [folder, *(os.path.join(folder, entry) for entry in dirnames + filenames)]:
                    os.lchown(name, plan.uid, plan.gid)

    def _clean_env(self) -> dict[str, str]:
        """What every kernel's environment holds whatever its folder: passed-through variables, PATH, settings."""
        env = {
            name: value
            for name, value in os.environ.items()
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.env_passthrough)
        }
        env.update(
            PATH=os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
            JUPYTER_PLATFORM_DIRS="1",
            JOBLIB_MULTIPROCESSING="0",
            GRADER_CELL_OUTPUT_LIMIT=str(self.cell_output_limit),
            PYDEVD_DISABLE_FILE_VALIDATION="1",
        )
        return env

    def _kernel_env(self) -> dict[str, str]:
        scratch = self._scratch
        assert scratch is not None
        env = self._clean_env()
        env.update(
            HOME=scratch,
            TMPDIR=os.path.join(scratch, "tmp"),
            IPYTHONDIR=os.path.join(scratch, ".ipython"),
            MPLCONFIGDIR=os.path.join(scratch, ".config", "matplotlib"),
            XDG_CONFIG_HOME=os.path.join(scratch, ".config"),
            XDG_CACHE_HOME=os.path.join(scratch, ".cache"),
            KERAS_HOME=os.path.join(scratch, ".keras"),
        )
        if self.collect_references:  # the lab's own solution: trains and stores, reads nothing stored
            env[REFERENCES_SAVE_VARIABLE] = os.path.join(scratch, REFERENCES_SUBFOLDER)
        elif self._reference_folder():
            env[REFERENCES_VARIABLE] = self._reference_folder()
            env[REFERENCE_DIGESTS_VARIABLE] = json.dumps(dict(self.reference_digests))
        env[POLICY_VARIABLE] = json.dumps(self._policy())
        return env

    def _reference_folder(self) -> str:
        """The reference models' folder when kernels may read it (it exists and digests are known)."""
        if self.collect_references or not self.references or not self.reference_digests:
            return ""
        folder = os.path.realpath(self.references)
        return folder if os.path.isdir(folder) else ""

    def _collect_references(self) -> None:
        """Copy what the kernel stored in its scratch folder's references (regular ``.npz`` files only)."""
        source = os.path.join(self._scratch or "", REFERENCES_SUBFOLDER)
        if not self.collect_references or not os.path.isdir(source):
            return
        os.makedirs(self.collect_references, exist_ok=True)
        for name in os.listdir(source):
            path = os.path.join(source, name)
            info = os.lstat(path)
            if name.endswith(".npz") and stat.S_ISREG(info.st_mode) and info.st_size <= self.max_file_bytes:
                shutil.copyfile(path, os.path.join(self.collect_references, name), follow_symlinks=False)

    def _policy(self) -> dict[str, Any]:
        plan = self.plan
        protected = [os.path.realpath(path) for path in self.protected_paths]
        allow_read = kernel_read_paths(self.kernel_packages) + [os.path.realpath(p) for p in self.extra_read_paths]
        if self._reference_folder():
            allow_read.append(self._reference_folder())
        guarded = protected + list(SECRET_SYSTEM_PATHS)
        landlock_read: list[str] = []
        for path in [*SYSTEM_READ_PATHS, *allow_read]:
            if any(_is_within(path, root) for root in protected):
                # inside the course only what was asked for by name (the venv, cnnkit) is readable
                if path in allow_read:
                    landlock_read.append(path)
                continue
            landlock_read.extend(_grant_around(path, guarded))
        devices = [path for path in DEVICE_FILES if os.path.exists(path)]
        devices += sorted(
            os.path.join("/dev", name) for name in (os.listdir("/dev") if os.path.isdir("/dev") else [])
            if name.startswith("nvidia")
        )
        limits = {"RLIMIT_FSIZE": self.max_file_bytes, "RLIMIT_CORE": 0, "RLIMIT_NOFILE": self.max_open_files}
        return {
            "scratch": self._scratch,
            "deny_read": protected + list(SECRET_SYSTEM_PATHS),
            "allow_read": allow_read,
            "write_files": devices,
            "landlock": plan.landlock_abi > 0,
            "landlock_read": sorted(set(landlock_read)),
            "drop_capabilities": plan.drop_capabilities,
            "audit_hook": plan.audit_hook,
            "limits": limits,
            "guard_fd": self._guard_write,
        }

    async def _async_pre_start_kernel(self, **kw: Any):  # type: ignore[override]
        self._make_scratch(kw.get("cwd"))
        assert self._scratch is not None
        self.connection_file = os.path.join(self._scratch, ".connection.json")
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        plan = self.plan
        if plan.user is not None:
            os.chown(self.connection_file, plan.uid, plan.gid)
            kw.update(user=plan.uid, group=plan.gid, extra_groups=[])
        # the kernel spec's "-m ipykernel_launcher" becomes the boot script; its arguments stay
        arguments = kernel_cmd[kernel_cmd.index("-f"):] if "-f" in kernel_cmd else ["-f", self.connection_file]
        kernel_cmd = [sys.executable, "-I", BOOT_SCRIPT, *arguments]
        if self.tamper_guard:
            from grader.tamper import GuardChannel

            read_end, self._guard_write = os.pipe()
            self.guard = GuardChannel(read_end)
            kw["pass_fds"] = (self._guard_write,)
        kw["env"] = self._kernel_env()
        kw["cwd"] = self._scratch
        kw["stdout"] = subprocess.DEVNULL
        assert self._sandbox_root is not None
        log_path = os.path.join(self._sandbox_root, "kernel.log")
        kw["stderr"] = open(log_path, "wb")  # noqa: SIM115 - closed in cleanup
        self._stderr_file = kw["stderr"]
        return kernel_cmd, kw

    pre_start_kernel = _async_pre_start_kernel

    def _preload_names(self) -> list[str]:
        names: list[str] = []
        for name in self.preload:
            names += list(self.notebook_preload) if name == "auto" else [name]
        return list(dict.fromkeys(names))

    def _fork_kernel(self, kernel_cmd: list[str], kw: dict[str, Any]) -> bool:
        """Start the kernel as a fork of this process's zygote; False when that is off or unavailable."""
        from grader import zygote as zygotes

        names = self._preload_names()
        if not self.zygote or not names or not isinstance(self.provisioner, LocalProvisioner) or BOOT_SCRIPT not in kernel_cmd:
            return False
        env = self._clean_env()
        # ipykernel sets this before anything imports matplotlib; the zygote imports it earlier
        env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        zygote = zygotes.shared_zygote(preload=names, env=env, preload_env=self.preload_env,
                                       parent=self.scratch_parent or None, log=self.log, uid=kw.get("user"), gid=kw.get("group"))
        if zygote is None:
            return False
        try:
            zygote.wait_ready(self.zygote_timeout)
            unreadable = _unreadable(zygote.files(), json.loads(kw["env"][POLICY_VARIABLE]))
            if unreadable:  # it holds what this sandbox would refuse to import (a protected package)
                self.log.warning("grader: the kernel zygote imported %s, which this kernel's sandbox may not read; "
                                 "this kernel starts the plain way", unreadable)
                return False
            process = zygote.spawn(
                argv=kernel_cmd[kernel_cmd.index(BOOT_SCRIPT) + 1:], env=kw["env"], cwd=kw["cwd"],
                stderr_fd=kw["stderr"].fileno(), guard_fd=self._guard_write, timeout=self.zygote_timeout,
            )
        except (OSError, TimeoutError, ValueError) as error:
            zygotes.zygote_failed(zygote, f"{type(error).__name__}: {error}", self.log)
            return False
        provisioner = self.provisioner
        provisioner.process = process
        provisioner.pid = process.pid
        # the kernel's first step makes it the leader of its own session and group (getpgid could
        # run before that step and name the zygote's group); before it, killpg finds no group and
        # the provisioner signals the process itself
        provisioner.pgid = process.pid
        provisioner.cwd = kw["cwd"]
        self._reconcile_connection_info(provisioner.connection_info)
        return True

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:  # type: ignore[override]
        try:
            if not self._fork_kernel(kernel_cmd, kw):
                await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            if self._guard_write is not None:  # only the kernel keeps a write end: its end is the pipe's end
                os.close(self._guard_write)
                self._guard_write = None

    _launch_kernel = _async_launch_kernel

    def kernel_log_tail(self, limit: int = 2000) -> str:
        """The end of the kernel process's stderr (start-up failures, crashes)."""
        return file_tail(os.path.join(self._sandbox_root, "kernel.log"), limit) if self._sandbox_root else ""

    def client(self, **kwargs: Any):  # type: ignore[override]
        kernel_client = super().client(**kwargs)
        # a kernel that prints gigabytes in one message would otherwise exhaust the grader's memory
        kernel_client.context.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        return kernel_client

    async def _async_cleanup_resources(self, restart: bool = False) -> None:  # type: ignore[override]
        await super()._async_cleanup_resources(restart=restart)
        if restart:
            return
        stderr_file = getattr(self, "_stderr_file", None)
        if stderr_file is not None:
            stderr_file.close()
            self._stderr_file = None
        if self.guard is not None:
            self.guard.close()
            self.guard = None
        if self._scratch:
            _kill_leftovers(self._scratch)
            self._collect_references()
        if self._sandbox_root:
            shutil.rmtree(self._sandbox_root, ignore_errors=True)
            self._sandbox_root = self._scratch = None

    cleanup_resources = _async_cleanup_resources


@contextlib.contextmanager
def protect_course_files(root: str, *, readable: Sequence[str] = (), enabled: bool = True) -> Iterator[list[str]]:
    """Hide the course directory from other accounts while grading, then restore the modes.

    Group and other permissions are removed from every top-level entry of ``root`` except those
    named in ``readable`` (the virtual environment and packages the kernel imports), and ``root``
    itself keeps only its execute bits for them, so an unprivileged kernel can reach the allowed
    entries but cannot list, read or change anything else; the umask is 077 meanwhile, so what
    grading creates is private too. Used when kernels run as another user.

    Parameters
    ----------
    root : str
        The course directory.
    readable : sequence of str
        Top-level names (or paths under ``root``) that stay as they are.
    enabled : bool, default True
        False makes this a no-op (kernels running as the grader's own user).

    Yields
    ------
    list of str
        The paths whose modes were changed.
    """
    changed: list[tuple[str, int]] = []
    old_umask = None
    if enabled:
        # files and folders nbgrader creates meanwhile (autograded notebooks hold hidden tests)
        # must not be readable by the kernels' account either
        old_umask = os.umask(0o077)
        root = os.path.realpath(root)
        keep = set()
        for entry in readable:
            entry = os.path.realpath(os.path.join(root, entry))
            if _is_within(entry, root) and entry != root:
                keep.add(os.path.relpath(entry, root).split(os.sep)[0])
        mode = stat.S_IMODE(os.lstat(root).st_mode)
        if mode & 0o066:
            changed.append((root, mode))
            os.chmod(root, mode & ~0o066)
        for name in os.listdir(root):
            path = os.path.join(root, name)
            if name in keep or os.path.islink(path):
                continue
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            if mode & 0o077:
                changed.append((path, mode))
                os.chmod(path, mode & ~0o077)
    try:
        yield [path for path, _ in changed]
    finally:
        if old_umask is not None:
            os.umask(old_umask)
        for path, mode in reversed(changed):
            with contextlib.suppress(OSError):
                os.chmod(path, mode)
