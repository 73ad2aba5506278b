"""Quality metrics as pure functions of arrays."""
