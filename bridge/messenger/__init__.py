"""The Messenger Platform, pure but for graph.py: signatures, events, limits, rendering,
the Graph client and its error policy, thread control."""
