"""grader/_kernel_boot.py's quicker tracebacks: the same modules and the same traceback text as
``inspect.getmodule`` gives, without its walk of every loaded module for a notebook cell's frame."""

from __future__ import annotations

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs in a fresh interpreter: the patch replaces inspect.getmodule for the whole process.
SCRIPT = r'''
import contextlib, inspect, io, json, re, sys
import numpy as np
from IPython.core.interactiveshell import InteractiveShell
from grader._kernel_boot import quicker_tracebacks

shell = InteractiveShell.instance()
shell.run_cell("import json\nimport numpy as np\ndef invert(x):\n    return np.linalg.inv(x)\n"
               "def fails():\n    raise ValueError('from a cell')\n"
               "class Thing:\n    def method(self):\n        return json.loads('{')\n", silent=True)
CASES = ["invert(np.zeros((2, 2)))", "fails()", "Thing().method()", "lambda_ = lambda: 1 / 0\nlambda_()"]

def run(source):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        shell.run_cell(source)
    frames, tb = [], sys.last_traceback
    while tb is not None:
        frames += [tb, tb.tb_frame, tb.tb_frame.f_code]
        tb = tb.tb_next
    return re.sub(r"In\[\d+\]", "In[n]", out.getvalue()), frames

def modules(objects):
    # as IPython asks: the object alone, and (inspect.findsource) with its file
    def name(thing, *file):
        return getattr(inspect.getmodule(thing, *file), "__name__", None)
    code = lambda thing: getattr(getattr(thing, "tb_frame", thing), "f_code", thing)
    return [[name(thing)] + ([name(thing, code(thing).co_filename)] if hasattr(code(thing), "co_filename") else [])
            for thing in objects]

texts, frames = zip(*(run(case) for case in CASES))
frames = [thing for group in frames for thing in group]
others = [json.loads, json, inspect.getmodule, np.linalg.inv, shell.user_ns["invert"], shell.user_ns["Thing"],
          shell.user_ns["Thing"].method, np.ndarray, 3, "text", None]
before = modules(frames + others)
quicker_tracebacks()
texts_after = [run(case)[0] for case in CASES]
after = modules(frames + others)
calls = []  # the original's path for a frame starts with getabsfile, then walks sys.modules
getabsfile = inspect.getabsfile
inspect.getabsfile = lambda *args: calls.append(args) or getabsfile(*args)
cell_frames = [thing for thing, names in zip(frames, before) if names[0] is None]
modules(cell_frames)
inspect.getabsfile = getabsfile
print(json.dumps({"before": before, "after": after, "same_text": list(texts) == texts_after,
                  "patched": inspect.getmodule.__wrapped__ is not inspect.getmodule,
                  "cell_frames": len(cell_frames), "walks": len(calls), "texts": texts_after}))
'''


def test_getmodule_answers_as_before_and_tracebacks_read_the_same():
    import json

    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=REPO, timeout=120,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["patched"]
    assert found["after"] == found["before"]
    assert found["same_text"]
    assert found["walks"] == 0  # a cell's frame no longer goes through the walk
    # the cells' frames (no module) and library frames (numpy, json) were both among those compared
    assert found["cell_frames"] >= 8
    assert {"numpy.linalg._linalg", "json.decoder"} <= {names[0] for names in found["before"]}
    assert all("Traceback" in text and "Error" in text for text in found["texts"])
