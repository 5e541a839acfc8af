"""News: RSS/Atom ingestion, full-text search and analysis (language, sentiment, tags)."""
