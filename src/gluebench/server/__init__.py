"""The leaderboard server: upload test predictions, score them against hidden labels, rank.

``app`` builds the FastAPI web application (routers per resource, templates); ``worker``
scores queued submissions; ``serve`` starts both as separate processes. Only worker
processes are given the data directory: the web process never opens the gold labels.
"""
