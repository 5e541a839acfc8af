"""myassistant: self-hosted crypto research and signal assistant."""

__version__ = "0.1.0"
