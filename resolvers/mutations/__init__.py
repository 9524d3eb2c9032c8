"""The writes: one module per part of the domain, on a shared transaction and validation."""
