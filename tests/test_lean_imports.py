"""Stage processes load Keras without scikit-learn, pandas and pyplot, which Keras imports for features
ganpipe never calls; the same libraries still load for anyone else who imports them."""

import subprocess
import sys

import pytest

from ganpipe import lean_imports


def python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


EXTRAS = sorted(lean_imports.NOT_FOR_KERAS)
LOADED = f"import sys; print([m for m in {EXTRAS!r} if m in sys.modules])"


def test_a_stage_process_imports_keras_without_its_optional_libraries():
    assert python(f"import ganpipe.stages, keras; {LOADED}") == "[]"
    # the finder is what keeps them out: plain Keras loads all three (they are installed with ganpipe)
    assert python(f"import keras; {LOADED}") == str(EXTRAS)


def test_the_libraries_still_load_for_everyone_else():
    assert python("import ganpipe.stages, keras, sklearn, pandas, matplotlib.pyplot as plt; "
                  "from keras.src.wrappers import fixes; "
                  "print(fixes.sklearn is None, callable(plt.figure), pandas.DataFrame({'a': [1]}).shape)") == (
        "True True (1, 1)")


def test_the_finder_is_installed_once_and_declines_only_keras_modules(monkeypatch):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    lean_imports.install()
    lean_imports.install()
    finders = [f for f in sys.meta_path if isinstance(f, lean_imports.KerasExtrasDeclined)]
    assert len(finders) == 1 and sys.meta_path[0] is finders[0]
    assert finders[0].find_spec("pandas") is None  # asked from here (a test module): the usual finders
    assert finders[0].find_spec("numpy") is None
    in_keras = {"__name__": "keras.src.trainers.data_adapters.array_slicing", "finder": finders[0]}
    with pytest.raises(ModuleNotFoundError, match="pandas"):
        exec("finder.find_spec('pandas')", in_keras)
    exec("assert finder.find_spec('numpy') is None", in_keras)
