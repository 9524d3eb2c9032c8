"""Import and export of the network's data in the engagement-hub/1 format: JSON, or CSV files
(docs/import-format.md)."""
