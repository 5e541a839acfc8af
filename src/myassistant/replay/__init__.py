"""Replay: the whole decision loop over history, walk-forward, on a separate account (SPEC §19)."""
