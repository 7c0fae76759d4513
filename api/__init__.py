"""lexgate decision API: HTTP service, decision log and API keys."""
