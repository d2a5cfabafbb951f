"""Delivery: the turn (claim, bot, render, send, ack), the loop that runs turns,
housekeeping, handover, Page routes."""
