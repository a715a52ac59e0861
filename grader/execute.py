"""nbgrader's ``Execute`` preprocessor, hardened for hostile or broken notebooks.

:class:`SafeExecute` differs from ``nbgrader.preprocessors.Execute`` in four ways:

* kernels start in the sandbox of :mod:`grader.sandbox`;
* a cell that ignores the interrupt after its time-out, or kills its kernel, no longer aborts the
  whole submission: the kernel is replaced, the cell records an error and grading goes on (output
  that arrives late no longer counts as a time-out at all);
* the whole notebook has a time budget; cells after it is spent record an error instead of running;
* outputs are capped per cell and per notebook while they arrive, without ever removing what
  grading reads (error outputs, stderr streams, a cell's result);
* the in-kernel tampering guard (:mod:`grader.tamper`) is asked, before each test cell and after
  every cell, whether what the tests rely on is intact; before a test cell it puts it back.
  Findings become ``TamperingDetected`` errors on the cells where they were found (a test cell whose
  run was compromised earns 0) and the formgrader's flag on the submission;
* a timed-out cell's error says it was stopped at the per-cell limit and what to change, and after
  a kernel had to be replaced the cells that had run before are run again, so that the cells after
  it are graded on their own where they can be.
"""

from __future__ import annotations

import secrets
import time
from queue import Empty
from typing import Any

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, default

from grader import tamper
from grader.sandbox import SandboxKernelManager
from grader.zygote import notebook_preload

__all__ = ["SafeExecute", "cap_cell_outputs"]

TIMEOUT_ADVICE = (
    "this cell was stopped at the per-cell time limit of {limit} s; make it finish well within the limit "
    "(train for fewer epochs, on less data, or with a smaller model), then check its time before you submit"
)
TRUNCATION_NOTE = "\n[grader: output truncated here; {dropped:,} more characters were not kept]\n"
NOTE_PREFIX = "\n[grader: output truncated"
MAX_TRACEBACK_LINE = 4000
MAX_TRACEBACK_LINES = 60
MAX_RESULT_CHARS = 20_000


def _size(output: NotebookNode) -> int:
    kind = output.get("output_type")
    if kind == "stream":
        return len(output.get("text", ""))
    if kind == "error":
        return len(str(output.get("evalue", ""))) + sum(len(line) for line in output.get("traceback", []))
    return sum(len(str(value)) for value in output.get("data", {}).values())


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + TRUNCATION_NOTE.format(dropped=len(text) - limit)


def _shrink_error(output: NotebookNode) -> None:
    output["evalue"] = _shorten(str(output.get("evalue", "")), MAX_TRACEBACK_LINE)
    lines = [_shorten(line, MAX_TRACEBACK_LINE) for line in output.get("traceback", [])]
    if len(lines) > MAX_TRACEBACK_LINES:
        half = MAX_TRACEBACK_LINES // 2
        lines = lines[:half] + ["... traceback truncated by the grader ..."] + lines[-half:]
    output["traceback"] = lines


def _shrink_data(output: NotebookNode, limit: int) -> None:
    data = output.get("data", {})
    for mime in list(data):
        value = data[mime]
        if isinstance(value, str) and len(value) > limit:
            if mime.startswith("text/"):
                data[mime] = _shorten(value, limit)
            else:  # a truncated image or JSON is garbage: drop it, keep a note
                del data[mime]
    if not data:
        data["text/plain"] = "[grader: a large output was removed]"


def cap_cell_outputs(cell: NotebookNode, *, limit: int) -> int:
    """Trim ``cell.outputs`` to about ``limit`` characters; return the characters dropped.

    Error outputs and stderr streams are shortened but never removed, and so are results
    (``execute_result``): nbgrader gives a test cell 0 points when it shows an error or writes to
    stderr, and reads partial credit from its result, so removing them could change a grade.
    Other outputs (stdout, displays) beyond the limit are removed, with one note saying so.
    """
    if cell.get("cell_type") != "code":
        return 0
    kept, used, dropped, noted = [], 0, 0, False
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        size = _size(output)
        room = max(limit - used, 0)
        if kind == "stream" and output.get("text", "").startswith(NOTE_PREFIX):
            noted = True
            kept.append(output)
            continue
        if kind == "error":
            _shrink_error(output)
        elif kind == "stream" and output.get("name") == "stderr":
            if size > max(room, 200):
                output["text"] = _shorten(output.get("text", ""), max(room, 200))
                dropped += size - max(room, 200)
        elif kind == "execute_result":
            _shrink_data(output, max(room, MAX_RESULT_CHARS))
        elif size > room:
            if kind == "stream" and room > 0:
                output["text"] = _shorten(output.get("text", ""), room)
                noted = True
            else:
                dropped += size
                if not noted:
                    kept.append(NotebookNode(output_type="stream", name="stdout",
                                             text=TRUNCATION_NOTE.format(dropped=size)))
                    noted = True
                continue
            dropped += size - room
        used += _size(output)
        kept.append(output)
    cell["outputs"] = kept
    return dropped


class SafeExecute(Execute):
    """Execute preprocessor that survives hanging, crashing and very chatty notebooks."""


    notebook_timeout = Integer(
        1800, help="Seconds for the whole notebook; later cells record an error instead of running."
    ).tag(config=True)
    max_cell_output = Integer(
        200_000, help="Characters of output kept per cell (errors and stderr are always kept, shortened)."
    ).tag(config=True)
    max_notebook_output = Integer(
        5_000_000, help="Characters of output kept in the whole notebook."
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # nbgrader's Execute forces AsyncKernelManager; a configured subclass of the sandbox stays
        if not issubclass(self.kernel_manager_class, SandboxKernelManager):
            self.kernel_manager_class = SandboxKernelManager

    interrupt_grace = Integer(
        5, help="Seconds an interrupted kernel has to answer again before it is replaced."
    ).tag(config=True)

    # late output must not cost a kernel (and so the state of every later cell): only a kernel
    # that stays busy after the interrupt of a timed-out cell is replaced
    raise_on_iopub_timeout = Bool(False, help="Raise when outputs arrive late (False here).").tag(config=True)

    @default("iopub_timeout")
    def _iopub_timeout_default(self) -> int:
        return 10

    @default("shutdown_kernel")
    def _shutdown_kernel_default(self) -> str:
        # the scratch folder is thrown away: nothing to save by a polite shutdown
        return "immediate"

    guard_timeout = Integer(
        20, help="Seconds the in-kernel tampering guard has to answer a check (grader.tamper)."
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None):
        self._started = time.monotonic()
        self._output_left = self.max_notebook_output
        self.replaced_kernels = 0
        self.tamper_findings: list[str] = []
        self._guarded_kernel: Any = None
        self._ran: list[tuple[str, bool]] = []  # (source, locked) of the cells run so far, for a new kernel
        self._preload = notebook_preload(nb)  # what the zygote imports for this notebook's kernels
        result = super().preprocess(nb, resources, km)
        if self.tamper_findings:
            self._flag_submission(resources)
        return result

    def create_kernel_manager(self):  # type: ignore[override]
        km = super().create_kernel_manager()
        if isinstance(km, SandboxKernelManager):
            km.notebook_preload = list(getattr(self, "_preload", []))
        return km

    def _flag_submission(self, resources: Any) -> None:
        info = (resources or {}).get("nbgrader", {})
        if not all(info.get(key) for key in ("db_url", "assignment", "student", "notebook")):
            return
        try:
            tamper.flag_submission(info["db_url"], assignment=info["assignment"], student=info["student"],
                                   notebook=info["notebook"])
        except Exception as error:  # noqa: BLE001 - the findings are in the notebook and the report anyway
            self.log.warning("Could not flag the submission in the gradebook: %s", error)

    def _cell_limit(self) -> int:
        return max(min(self.max_cell_output, self._output_left), 1000)

    def _record_error(self, cell: NotebookNode, ename: str, evalue: str) -> None:
        cell.setdefault("outputs", []).append(
            NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])
        )

    def _replace_kernel(self) -> None:
        mode = self.shutdown_kernel
        self.shutdown_kernel = "immediate"
        try:
            self._cleanup_kernel()
        finally:
            self.shutdown_kernel = mode
        self.km = self.create_kernel_manager()
        self.start_new_kernel()
        self.start_new_kernel_client()
        self.replaced_kernels += 1
        self._replay()

    def _replay(self) -> None:
        """Run the cells that ran before again in a new kernel, silently, so that the cells after the
        one that lost the kernel are graded on their own where they can be."""
        self._guard_boot()
        for source, locked in self._ran:
            if time.monotonic() - self._started > self.notebook_timeout:
                break
            if not self._run_silently(source, self.timeout or 60, store_history=False):
                self.log.warning("A replayed cell did not finish in the new kernel: replay stopped")
                break
            if locked:
                self._guard_request("course")

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None):
        self._interrupted = True
        return await super()._async_handle_timeout(timeout, cell)

    async def _async_run_silently(self, code: str, timeout: float, store_history: bool = False) -> bool:
        """Whether the kernel runs ``code`` (silently) and replies within ``timeout`` seconds."""
        assert self.kc is not None
        msg_id = await ensure_async(self.kc.execute(code, silent=True, store_history=store_history))
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Empty:
                return False
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True
        return False

    _run_silently = run_sync(_async_run_silently)

    def _kernel_answers(self) -> bool:
        """Whether the kernel runs an empty request within ``interrupt_grace`` seconds."""
        return self._run_silently("", self.interrupt_grace)

    # ------------------------------------------------------------ the tampering guard

    def _guard_request(self, command: str, argument: str = "") -> list[str]:
        """Ask the kernel's guard to do ``command``; its findings, plus any problem with the channel."""
        channel = getattr(self.km, "guard", None)
        if channel is None:
            return []
        nonce = secrets.token_hex(8)
        replied = self._run_silently(repr(f"{tamper.GUARD_MARK}:{nonce}:{command}:{argument}"), self.guard_timeout)
        findings, problem = channel.answer(nonce, timeout=self.guard_timeout if replied else 1)
        return findings + ([problem] if problem else [])

    def _guard_boot(self) -> None:
        if self._guarded_kernel is self.km:
            return
        self._guarded_kernel = self.km
        problems = self._guard_request("boot")
        if problems:
            self.tamper_findings += [f"(new kernel) {problem}" for problem in problems]

    def _report(self, cell: NotebookNode | None, findings: list[str], *, test_cell: bool, note: bool = False) -> None:
        if not findings:
            return
        if note:  # found before a test cell and undone: a note on it, the test keeps what it earns
            new = [finding for finding in dict.fromkeys(findings) if finding not in self.tamper_findings]
            self.tamper_findings += new
            if cell is not None and new:
                cell.setdefault("outputs", []).append(tamper.finding_output(new, test_cell=True, note=True))
            return
        new = [finding for finding in dict.fromkeys(findings) if finding not in self.tamper_findings]
        self.tamper_findings += new
        # a helper named like a builtin may be honest: flagged where it is defined, tests not zeroed for it
        shown = [finding for finding in dict.fromkeys(findings) if not finding.startswith(tamper.REVIEW_ONLY)] \
            if test_cell else new
        if cell is not None and shown:
            cell.setdefault("outputs", []).append(tamper.finding_output(shown, test_cell=test_cell))

    # ------------------------------------------------------------ time-outs

    def _explain_timeout(self, cell: NotebookNode, *, restarted: bool) -> None:
        """One clear error instead of the interrupt's traceback: the limit, and what to change."""
        advice = TIMEOUT_ADVICE.format(limit=self._get_timeout(cell))
        if restarted:
            advice += ("; it did not stop when interrupted, so the kernel was restarted and the cells before it "
                       "were run again")
        else:
            advice += "; the cells after it ran without what it would have defined"
        kept = [output for output in cell.get("outputs", [])
                if not (output.get("output_type") == "error"
                        and output.get("ename") in ("KeyboardInterrupt", "CellTimeoutError"))]
        cell["outputs"] = kept
        self._record_error(cell, "CellTimeoutError", advice)

    def _stubborn(self, cell: NotebookNode, index: int) -> None:
        self.log.warning("Cell %s ignored the interrupt after its time-out: replacing the kernel", index)
        self._replace_kernel()
        self._explain_timeout(cell, restarted=True)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)
        elapsed = time.monotonic() - self._started
        if self.notebook_timeout and elapsed > self.notebook_timeout:
            cell.outputs = []
            self._record_error(
                cell, "NotebookTimeout",
                f"not run: the notebook used up its {self.notebook_timeout} s time budget before this cell",
            )
            return cell, resources
        self._check_assign_resources(resources)
        self._live_sizes: dict[int, int] = {}
        self._interrupted = False
        meta = cell.get("metadata", {}).get("nbgrader", {})
        test_cell = bool(meta.get("grade")) and not meta.get("solution")
        locked = bool(meta.get("locked")) and not test_cell
        self._guard_boot()
        if test_cell:
            before = self._guard_request("test", ",".join(tamper.expected_source_digests(cell.source)))
        replaced = self.replaced_kernels
        try:
            cell = self.execute_cell(cell, index, store_history=True)
            if self._interrupted and not self._kernel_answers():
                self._stubborn(cell, index)
            elif self._interrupted:
                self._explain_timeout(cell, restarted=False)
        except CellTimeoutError:
            self._stubborn(cell, index)
        except DeadKernelError:
            self.log.warning("The kernel died in cell %s: replacing it", index)
            self._replace_kernel()
            self._record_error(
                cell, "DeadKernelError",
                "the kernel died while running this cell (a crash, os._exit or too much memory); it was "
                "restarted and the cells before it were run again",
            )
        if test_cell:  # after the run: the note goes after the test's own outputs
            self._report(cell, before, test_cell=True, note=True)
        if self.replaced_kernels == replaced:
            self._report(cell, self._guard_request("course" if locked else "post"), test_cell=test_cell)
            if not self._interrupted:
                self._ran.append((cell.source, locked))
        cap_cell_outputs(cell, limit=self._cell_limit())
        self._output_left -= sum(_size(output) for output in cell.get("outputs", []))
        return cell, self.resources

    def output(self, outs, msg, display_id, cell_index):  # type: ignore[override]
        out = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return out
        # trim while outputs arrive, so that a printing loop cannot exhaust the grader's memory
        total = self._live_sizes.get(cell_index, 0) + _size(out)
        if total > 2 * self._cell_limit():
            holder = NotebookNode(cell_type="code", outputs=list(outs))
            cap_cell_outputs(holder, limit=self._cell_limit())
            outs[:] = holder.outputs
            total = sum(_size(output) for output in outs)
        self._live_sizes = {cell_index: total}
        return out
