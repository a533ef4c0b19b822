"""The single place where tfzoo's version is written."""

__version__ = "0.1.0"
