"""Real local HTTP servers that stand in for external APIs in tests."""
