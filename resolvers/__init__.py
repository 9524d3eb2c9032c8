"""What to fetch for each field: query functions per part of the domain, and the DataLoaders."""
