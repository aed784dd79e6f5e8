"""Webhook tables: subscriptions, outbox, deliveries (filled by the billing issue)."""
