"""The benchmark as data: suites, their files, metrics over items, and their statistics."""
