"""HTTP in: the webhook, health and metrics endpoints, recording of deliveries."""
