"""The LLM layer: one SEO request, several providers, one shared rate limit."""
