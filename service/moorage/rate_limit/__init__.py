"""Request counting for the rate limit: who is counted, and where the counts live."""
