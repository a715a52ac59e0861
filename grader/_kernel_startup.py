"""IPython startup file of every grading kernel (copied into the kernel's scratch folder).

Stops a printing loop at the source, so a cell's output never reaches the grader as one huge
message. Student code can undo it; the grader trims outputs again on its side
(:func:`grader.execute.cap_cell_outputs`). The limit arrives in ``GRADER_CELL_OUTPUT_LIMIT``.
"""

NOTE = "\n[grader: output truncated here; the rest was not kept]\n"


def cap_streams(ipython, limit: int) -> None:
    """Let ``sys.stdout`` and ``sys.stderr`` write at most ``limit`` characters per cell."""
    import sys

    state = {"used": 0, "noted": False}
    note = NOTE  # the startup file's globals are the user's namespace: keep nothing there

    def capped(write):
        def write_capped(text):
            if not isinstance(text, str):
                return write(text)
            room = limit - state["used"]
            if room <= 0:
                if not state["noted"]:
                    state["noted"] = True
                    write(note)
                return len(text)
            state["used"] += min(len(text), room)
            write(text[:room])
            return len(text)

        return write_capped

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        if stream is not None and hasattr(stream, "write"):
            stream.write = capped(stream.write)

    def reset(*args):
        state["used"], state["noted"] = 0, False

    ipython.events.register("pre_run_cell", reset)


if __name__ == "__main__":  # run by IPython as a startup file; leaves no names behind
    import os as _os

    cap_streams(get_ipython(), int(_os.environ.get("GRADER_CELL_OUTPUT_LIMIT", "200000")))  # noqa: F821
    del _os, cap_streams, NOTE
