"""Trading: the fill/fee/slippage model and (later) the paper broker."""
