"""Usage over time: `POST /v2/events/aggregation` (SEMANTICS "Usage over time")."""
