"""The bot's core. The version here is the package's single source (pyproject reads it)."""

__version__ = "0.1.0"
