"""Models: leak-free features and labels, backtests, training, artifacts, registry and policy."""
