"""The daily report: pure aggregations, charts, templates, and its queries and file."""
