"""What a stage prints on stderr: ganpipe's own lines and real warnings, one ``ganpipe: warning: ...`` line each.

TensorFlow's native libraries write to file descriptor 2 straight from C++, before and beside
Python: absl's preamble ("All log messages before absl::InitializeLog() ..."), the oneDNN notice
(printed whatever TF_CPP_MIN_LOG_LEVEL says), and grappler's "remapper failed" error lines, after
which TensorFlow runs the graph unoptimised, as intended. Keras logs through absl's Python logger
("WARNING:absl:..."), e.g. that the legacy ``.h5`` the train stage saves on purpose is a legacy
format. :class:`StderrFilter` puts a pipe in place of descriptor 2 and a thread that copies it
to the real stderr less those lines; Python's warnings become one line each (:func:`show_warning`).
Set ``GANPIPE_NATIVE_LOG=1`` to see everything as TensorFlow writes it.
"""

from __future__ import annotations

import os
import re
import select
import sys
import threading

# a native log line, glog's or absl's format: "I0000 00:00:1796169211.549844    4930 port.cc:153] ..."
NATIVE_LOG = re.compile(r"[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] ")
ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# native error lines that change nothing: no usable GPU (the CPU runs instead); a grappler pass that gave
# up (the graph runs unoptimised, with the same results)
HARMLESS_NATIVE_ERRORS = ("failed call to cuInit", "Unable to register cu", "meta_optimizer.cc")
ABSL_PYTHON = "WARNING:absl:"
# absl warnings about what ganpipe does on purpose
INTENDED = ("You are saving your model as an HDF5 file",)
_HOLD = tuple(b"IWEF")  # a line starting with one of these may be native: held until it is complete


def is_noise(line: str) -> bool:
    """True for a line no user needs: absl's preamble, a native info or warning line, a harmless native
    error, or an absl warning about what ganpipe does on purpose."""
    if line.startswith(ABSL_PREAMBLE):
        return True
    if line.startswith(ABSL_PYTHON):
        return any(text in line for text in INTENDED)
    if not NATIVE_LOG.match(line):
        return False
    return line[0] in "IW" or any(text in line for text in HARMLESS_NATIVE_ERRORS)


def rewrite(line: str) -> str | None:
    """``line`` as the user sees it: None if noise, an absl warning as ``ganpipe: warning: ...``, else unchanged."""
    if is_noise(line):
        return None
    if line.startswith(ABSL_PYTHON):
        return f"ganpipe: warning: {line[len(ABSL_PYTHON):].strip()}" + line[len(line.rstrip("\r\n")):]
    return line


def one_line(text) -> str:
    return " ".join(str(text).split())


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` as one line: ``ganpipe: warning: <message>``; another library's warning (from a
    file in site-packages) adds its category and package. Never a source path and line."""
    text = one_line(message)
    parts = re.split(r"[\\/]", str(filename))
    library = next((parts[i + 1] for i, p in enumerate(parts[:-1]) if p in ("site-packages", "dist-packages")), None)
    if library and library != "ganpipe":
        text += f" ({category.__name__}, {library.removesuffix('.py')})"
    try:
        (file or sys.stderr).write(f"ganpipe: warning: {text}\n")
    except (OSError, ValueError):  # stderr gone: a warning must never fail the stage
        pass


class StderrFilter:
    """Descriptor 2 through a pipe and a copying thread that drops :func:`is_noise` lines.

    A line that cannot be native (it starts with anything but I, W, E or F) goes through at once, so
    progress bars redraw as they did; others wait for their end. Child processes inherit the pipe,
    so their lines are filtered too. Usable once: ``start()``, then ``stop()``.
    """

    # after stop(), the copy ends once the pipe has been quiet this long: a process that outlives its
    # work and never writes (multiprocessing's resource tracker, started with the spawn workers of
    # ganpipe.parallel) holds the pipe open until this process exits, so waiting for the pipe's end
    # cost every such stage its whole stop() timeout (5 s)
    QUIET_S = 0.1

    def __init__(self):
        self._saved = None
        self._thread = None
        self._stopping = threading.Event()

    def start(self) -> "StderrFilter":
        sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all: nothing to filter
            return self
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self._saved = saved
        self._thread = threading.Thread(target=self._copy, args=(read_end, saved, self._stopping),
                                        name="ganpipe-stderr", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Put the real stderr back and let the thread copy what is left: until the pipe ends or has been
        quiet for :attr:`QUIET_S`, at most ``timeout`` seconds (children still writing)."""
        if self._saved is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self._saved, 2)  # closes this process's write end of the pipe
        self._stopping.set()
        self._thread.join(timeout)
        os.close(self._saved)
        self._saved = None

    @classmethod
    def _copy(cls, read_end: int, out: int, stopping: threading.Event) -> None:
        pending, passing = b"", False  # passing: the current line was found not native and is going out as it comes
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while True:
                # stop() sets the flag once every line of this process is in the pipe, so only a select begun
                # after the flag was seen may end the copy when quiet: a flag read after a quiet select may be
                # newer than that select, and lines written in between would be lost (1 run in ~150 did)
                stopped = stopping.is_set()
                if not select.select([pipe], [], [], cls.QUIET_S)[0]:
                    if stopped or (stopping.is_set() and not select.select([pipe], [], [], 0)[0]):
                        break
                    continue
                chunk = pipe.read(65536)
                if not chunk:
                    break
                pending += chunk
                emitted = []
                while True:
                    ends = [i for i in (pending.find(b"\n"), pending.find(b"\r")) if i >= 0]
                    if not ends:
                        break
                    cut = min(ends) + 1
                    piece, pending = pending[:cut], pending[cut:]
                    if passing:
                        emitted.append(piece)
                        passing = False
                        continue
                    kept = rewrite(piece.decode("utf-8", "replace"))
                    if kept is not None:
                        emitted.append(piece if kept == piece.decode("utf-8", "replace") else kept.encode())
                if pending and (passing or pending[0] not in _HOLD):
                    emitted.append(pending)
                    pending, passing = b"", True
                _write_all(out, b"".join(emitted))
        if pending and (passing or rewrite(pending.decode("utf-8", "replace")) is not None):
            _write_all(out, pending)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data):]
        except OSError:  # the reader of stderr went away: drop the rest
            return


def quiet_stage_output(environ=os.environ, *, show_all: bool = False) -> StderrFilter | None:
    """Make this process's stderr a stage's: Python warnings as single lines, and (unless ``show_all``
    or ``GANPIPE_NATIVE_LOG=1``) the native noise filtered. Returns the filter to stop, or None."""
    import warnings

    warnings.showwarning = show_warning
    if show_all or environ.get("GANPIPE_NATIVE_LOG", "") not in ("", "0"):
        return None
    return StderrFilter().start()
