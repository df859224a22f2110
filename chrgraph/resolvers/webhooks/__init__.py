"""Event notifications (webhooks): subscriptions, deliveries and their worker."""
