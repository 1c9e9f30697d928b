"""One router per resource: submissions, leaderboard (API), admin, and the HTML pages."""
