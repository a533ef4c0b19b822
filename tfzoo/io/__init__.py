"""File formats read below the model layer (stdlib, NumPy and the format packages only)."""
