"""Operating endpoints: liveness, readiness and Prometheus metrics (no auth, not rate limited)."""
