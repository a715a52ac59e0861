"""The kernel zygote (grader.zygote): forked kernels are sandboxed exactly like fresh ones, grade the
same, hold no secret, and a dead zygote only costs speed.

The rest of the grading suite runs with the zygote on (the default): every batch of
tests/test_grading.py, tests/test_tampering.py and tests/test_reference_cache.py forks its kernels
from one, the hostile and tampering corpora included.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import tempfile
import time

import grading_corpus as corpus
import nbformat
import pytest
from test_grading import LAB_LOOP_TIMEOUT, REPO, nbgrader_config, notebooks, short_timeouts
from traitlets.config import Config

from grader import grade_batch
from grader import zygote as zygotes
from grader.sandbox import ZYGOTE_PRELOAD_ENV, SandboxKernelManager
from grader.zygote import ForkedKernel, notebook_preload

SECRET = "GRADER_TEST_SECRET"

# What a kernel can see of its own sandbox; every layer of grader/_kernel_boot.py shows up here.
PROBE = r"""
import ctypes, json, os, resource, signal, sys
def attempt(action):
    try:
        action()
        return "allowed"
    except BaseException as error:
        return type(error).__name__
libc = ctypes.CDLL(None, use_errno=True)
def c_open(path):
    if libc.open(path.encode(), os.O_RDONLY) < 0:
        raise PermissionError(ctypes.get_errno())
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
import socket
sandbox = os.path.dirname(os.getcwd())
def files():  # the open files, and the Unix packet sockets (the zygote's channel is one)
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("/") and not target.startswith(os.getcwd()):
            found.append(target.replace(sandbox, "SANDBOX"))
        elif target.startswith("socket:"):
            try:
                probe = socket.socket(fileno=os.dup(int(fd)))
            except OSError:
                continue
            if probe.family == socket.AF_UNIX and probe.type == socket.SOCK_SEQPACKET:
                found.append("unix packet socket")
            probe.close()
    return sorted(set(found))
print(json.dumps({
    "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "caps": [status[name].strip() for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")],
    "no_new_privs": status["NoNewPrivs"].strip(),
    "own_session": os.getsid(0) == os.getpid() and os.getpgid(0) == os.getpid(),
    "cwd_is_home": os.getcwd() == os.environ["HOME"], "umask": os.umask(0o22),
    "env": sorted(os.environ), "path": os.environ["PATH"], "secret": SECRET_NAME in os.environ,
    "files": files(), "stdin": os.readlink("/proc/self/fd/0").split(":")[0], "stdin_eof": os.read(0, 1) == b"",
    "parent_is_watched": os.environ.get("JPY_PARENT_PID") == str(os.getppid()),
    "limits": [resource.getrlimit(getattr(resource, name)) for name in ("RLIMIT_FSIZE", "RLIMIT_CORE", "RLIMIT_NOFILE")],
    "oom": open("/proc/self/oom_score_adj").read().strip(), "dumpable": libc.prctl(3, 0, 0, 0, 0),
    "signals": [str(signal.getsignal(number)) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE)],
    "sys_path": sys.path, "argv0": os.path.basename(sys.argv[0]), "flags": [sys.flags.isolated, sys.flags.ignore_environment],
    "read_repo": attempt(lambda: open(REPO_FILE).read()), "list_repo": attempt(lambda: os.listdir(REPO_DIR)),
    "c_read_repo": attempt(lambda: c_open(REPO_FILE)), "c_read_shadow": attempt(lambda: c_open("/etc/shadow")),
    "write_tmp": attempt(lambda: open("/tmp/grader-zygote-probe", "w")),
    "spawn": attempt(lambda: __import__("subprocess").run(["true"])), "fork": attempt(os.fork),
    "signal_parent": attempt(lambda: os.kill(os.getppid(), 0)),
    "guard": "guard_fd" in json.loads(os.environ["GRADER_SANDBOX_POLICY"]),
    "tensorflow": "tensorflow" in sys.modules,
}))
"""


def _probe(zygote_on: bool, preload=("numpy",), code: str | None = None, protected=(REPO,)) -> dict:
    """Start a kernel as grading does (zygote on or off), run ``code`` (the PROBE), return its JSON."""
    config = Config()
    config.SandboxKernelManager.zygote = zygote_on
    config.SandboxKernelManager.preload = list(preload)
    config.SandboxKernelManager.protected_paths = list(protected)
    source = code or PROBE.replace("SECRET_NAME", repr(SECRET)).replace("REPO_FILE", repr(os.path.join(REPO, "README.md"))) \
        .replace("REPO_DIR", repr(REPO))

    async def run() -> tuple[dict, bool]:
        km = SandboxKernelManager(config=config)
        await km.start_kernel()
        forked = isinstance(km.provisioner.process, ForkedKernel)
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=120)
            out: list[str] = []
            errors: list[str] = []
            reply = await kc.execute_interactive(source, timeout=120, output_hook=lambda msg: (
                out if msg["msg_type"] == "stream" else errors).append(msg["content"].get("text", str(msg["content"])[:500])))
            assert reply["content"]["status"] == "ok", (out, errors)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        return json.loads("".join(out)), forked

    return asyncio.run(run())


@pytest.fixture
def fresh_zygote():
    zygotes.stop_shared_zygote()
    yield
    zygotes.stop_shared_zygote()


def test_forked_kernels_are_sandboxed_exactly_like_fresh_ones(fresh_zygote, monkeypatch):
    monkeypatch.setenv(SECRET, "not-for-students-5b1e")
    plain, plain_forked = _probe(False)
    forked, was_forked = _probe(True)
    again, _ = _probe(True)
    assert was_forked and not plain_forked
    # the one documented difference: cnnkit.setup's TensorFlow settings, in effect since the zygote's imports
    # (the grader's own environment passes TF_* through: under pytest, conftest's ck.setup set them already)
    assert set(forked["env"]) - set(plain["env"]) == set(ZYGOTE_PRELOAD_ENV) - set(plain["env"])
    forked["env"] = [name for name in forked["env"] if name in plain["env"] or name not in ZYGOTE_PRELOAD_ENV]
    assert forked == plain == again
    refused = ("PermissionError", "OSError")
    for attack in ("read_repo", "list_repo", "c_read_repo", "c_read_shadow", "write_tmp", "spawn", "fork", "signal_parent"):
        assert plain[attack] in refused, (attack, plain[attack])
    assert not plain["secret"] and plain["guard"] and plain["own_session"] and plain["cwd_is_home"]


def test_zygote_holds_no_secret_and_no_tensorflow_for_lab1(fresh_zygote, monkeypatch):
    monkeypatch.setenv(SECRET, "not-for-students-5b1e")
    lab1 = os.path.join(REPO, "solutions", "lab1_conv_pool", "lab1_conv_pool.ipynb")
    preload = notebook_preload(nbformat.read(lab1, as_version=4))
    assert preload[:2] == ["numpy", "cnnkit"]
    probe, forked = _probe(True, preload=preload)
    assert forked and not probe["tensorflow"]  # lab 1 is numpy only: its kernels never load TensorFlow
    zygote = zygotes._shared["zygote"]
    info = zygote.wait_ready(60)
    assert "tensorflow" not in info["modules"] and "keras" not in info["modules"] and not info["failed"]
    assert info["python_threads"] == 1  # nothing runs in it between requests (the kernels close its descriptors)
    with open(f"/proc/{zygote.process.pid}/environ", "rb") as handle:
        environ = handle.read().decode()
    assert SECRET not in environ and "not-for-students" not in environ
    assert "GRADER_SANDBOX_POLICY" not in environ  # no kernel's policy, scratch or guard


def test_killed_zygote_falls_back_to_plain_kernels(fresh_zygote, caplog):
    _, forked = _probe(True)
    assert forked
    zygote = zygotes._shared["zygote"]
    os.kill(zygote.process.pid, signal.SIGKILL)
    zygote.process.wait(10)
    with caplog.at_level(logging.WARNING):
        probe, forked = _probe(True)
        _, forked_later = _probe(True)
    assert not forked and not forked_later and probe["guard"]
    warnings = [record.message for record in caplog.records if "zygote is unavailable" in record.message]
    assert len(warnings) == 1, warnings


def test_zygote_is_not_used_where_the_sandbox_hides_what_it_imported(fresh_zygote):
    """A kernel whose sandbox may not read numpy (a protected path) must not get it from the zygote."""
    import numpy

    code = "import json, sys\nprint(json.dumps({'numpy': 'numpy' in sys.modules}))"
    probe, forked = _probe(True, code=code, protected=(os.path.dirname(numpy.__file__),))
    assert not forked and not probe["numpy"]


def test_forked_kernel_signals_and_ends_like_a_process():
    """ForkedKernel's Popen face: poll, kill, wait and the exit status it reports."""
    zygotes.stop_shared_zygote()
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    kernel = ForkedKernel(pid, os.pidfd_open(pid))
    assert kernel.poll() is None
    kernel.kill()
    os.waitpid(pid, 0)  # here this test is the parent; in grading the zygote reaps
    assert kernel.wait(5) == -signal.SIGKILL and kernel.poll() == -signal.SIGKILL


def _grade(course, lab, files, zygote_on):
    config = short_timeouts(loop=LAB_LOOP_TIMEOUT)
    config.SandboxKernelManager.zygote = zygote_on
    download = corpus.write_download(os.path.join(course, f"{lab}-{zygote_on}.zip"), files)
    report = grade_batch(lab, [download], course_root=course, config=config, solution_check=False, regrade=True)
    return {r.student: (r.status, r.score, r.cell_scores, sorted(r.flags), len(r.reasons)) for r in report.results}


@pytest.fixture
def lab_course():
    course = tempfile.mkdtemp(prefix="grading-zygote-")
    os.chmod(course, 0o755)
    nbgrader_config(course)
    yield course
    shutil.rmtree(course, ignore_errors=True)


def test_grades_with_and_without_the_zygote_are_equal(lab_course):
    """Lab 1: its defects submission and a tampering one, zygote on and off, in one course.

    (Lab 2, TensorFlow, gave equal grades the same way, but took 235 s; tests/test_grading.py's
    lab corpus grades every lab with the zygote on and asserts the predicted score of every cell.)"""
    from nbgrader.apps.api import NbGraderAPI

    from grader.config import load_course_config

    lab, course = "lab1_conv_pool", lab_course
    shutil.copytree(os.path.join(REPO, "solutions", lab), os.path.join(course, "solutions", lab))
    assert NbGraderAPI(config=load_course_config(course)).generate_assignment(lab)["success"]
    source, release = notebooks(course, lab)
    defects, predicted, _ = corpus.defects_submission(source, release)
    tampered = corpus.solution_submission(source, release)
    answer = next(cell for cell in tampered.cells if corpus.is_answer(cell))
    answer.source += "\nimport numpy as np\nnp.testing.assert_allclose = lambda *args, **kwargs: None"
    files = {"defects": {f"{lab}.ipynb": defects}, "tampered": {f"{lab}.ipynb": tampered}}
    on = _grade(course, lab, files, True)
    off = _grade(course, lab, files, False)
    assert on == off
    assert on["defects"][2] == predicted and on["tampered"][3]  # the grades are the right ones, the tampering is flagged
