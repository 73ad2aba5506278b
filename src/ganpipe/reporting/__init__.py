"""Pictures and plots: sample grids, data previews, loss curves."""
