"""One module per dvc.yaml stage: parse paths, load the params section, call the library."""

from .. import lean_imports

lean_imports.install()  # before any stage imports Keras: its start-up without scikit-learn, pandas and pyplot
