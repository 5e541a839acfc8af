"""Market data: exchange prices (ccxt), the watchlist and its discovery."""
