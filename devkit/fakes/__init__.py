"""Real local HTTP servers that stand in for the OpenAI, Gemini and Sentry APIs."""
