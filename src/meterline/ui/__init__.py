"""The web dashboard at /ui: server-rendered pages over the same services as the API."""
