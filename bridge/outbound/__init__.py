"""Messages the person did not just ask for: the outbound API's rules, pure but for ``enqueue``.

``request`` reads a ``POST /v1/messages`` body (or ``bridge send``'s options) into an
``OutboundRequest``; ``rules`` decides from a thread's state (and a notification-messages
token) whether it may be sent now, at enqueue and again before each send; ``jobs`` is the job
it becomes (its key, its payload, its status); ``enqueue`` puts it in the person's
conversation, so it keeps the conversation's order like every turn.
"""
