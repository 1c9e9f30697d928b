"""Human-readable output: terminal/Markdown tables (and, later, plots and HTML)."""
