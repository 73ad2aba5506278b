"""One module per dvc.yaml stage: parse paths, load the params section, call the library."""
