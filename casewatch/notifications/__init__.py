"""Scheduled checks and notifications: the scan that records alerts, the outbox, its
relay and the channels (in-app inbox, e-mail, signed webhook)."""
