"""Keras in a stage process without the optional libraries it loads for features ganpipe never calls.

``import keras`` (3.x) imports scikit-learn for its scikit-learn wrappers, pandas so that ``fit`` takes
DataFrames, and matplotlib.pyplot for its image galleries, whenever they are installed (mlxtend brings
scikit-learn along for prepare_mnist). Each import is guarded by Keras itself (``except ImportError``: the
feature is off). On a 2-core EPYC the three took 1.4 s of the ~5.5 s a process spends importing Keras,
in each of the stages that use it. :func:`declined_for_keras` makes those imports fail when one of
Keras' own modules asks for them, so Keras starts as if they were absent; the same imports from anywhere
else (ganpipe's figures, mlxtend, a user's code) load them as usual, and a library already loaded is
used. The stages' shell (``stages._entry.run``) holds it while a stage runs: a process whose Keras was
first imported there has Keras without those features until it ends (a stage's process: nothing lost).

:func:`import_in_background` starts an import in a thread, for a stage whose first work needs no
TensorFlow (the judge's distortions run on worker processes while Keras loads).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading

# what Keras imports at start-up only for its scikit-learn wrappers, DataFrame input and gallery plots
NOT_FOR_KERAS = frozenset({"sklearn", "pandas", "matplotlib.pyplot"})
_IMPORT_MACHINERY = ("importlib.", "_frozen_importlib")  # and "importlib" itself (import_module)


def importing_module(depth: int = 2) -> str:
    """The ``__name__`` of the module whose code runs the import under way (import machinery skipped)."""
    frame = sys._getframe(depth)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name and name != "importlib" and not name.startswith(_IMPORT_MACHINERY):
            return name
        frame = frame.f_back
    return ""


class KerasExtrasDeclined:
    """A ``sys.meta_path`` finder: :data:`NOT_FOR_KERAS` imported by a ``keras`` module is "not installed"."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in NOT_FOR_KERAS and importing_module().split(".")[0] == "keras":
            raise ModuleNotFoundError(f"No module named {fullname!r} (ganpipe stages load Keras without it)",
                                      name=fullname)
        return None  # everything else: the usual finders


@contextlib.contextmanager
def declined_for_keras():
    """The finder first on ``sys.meta_path`` for the ``with`` block (once, however deeply nested); imports
    of Keras inside the block start without :data:`NOT_FOR_KERAS`."""
    if any(isinstance(finder, KerasExtrasDeclined) for finder in sys.meta_path):
        yield
        return
    finder = KerasExtrasDeclined()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


class BackgroundImport(threading.Thread):
    """A thread importing one module; :meth:`result` waits for it and raises the import's own error."""

    def __init__(self, name: str):
        super().__init__(name=f"import {name}", daemon=True)
        self.module, self.error = name, None

    def run(self):
        try:
            importlib.import_module(self.module)
        except BaseException as exc:  # noqa: BLE001 - kept for result(): a second import may fail differently
            self.error = exc

    def result(self):
        """Wait for the import; the module, or the exception it raised."""
        self.join()
        if self.error is not None:
            raise self.error
        return sys.modules[self.module]


def import_in_background(name: str) -> BackgroundImport:
    """Start importing module ``name`` in a thread and return it (:meth:`BackgroundImport.result` waits).

    For a stage whose first work needs no TensorFlow: Keras' ~4 s import uses one core while that work
    (worker processes, NumPy) uses the other. Join it even when that work fails, so the import never
    runs on while the process ends.
    """
    thread = BackgroundImport(name)
    thread.start()
    return thread
