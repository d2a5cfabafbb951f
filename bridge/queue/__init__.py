"""The durable work queue: one job per inbound event, claimed one conversation turn at a time.

The values it takes and gives back are in ``records``; what each caller may do with it, in
``roles`` (``Queue`` is every role at once). ``sqlite`` is the embedded backend that makes one
container a complete bridge; ``sqs`` the shared one for several containers.

Beside the jobs, the queue keeps each thread's state (``bridge.messenger.thread_control``): the
person's latest event (Messenger's 24-hour window) and who holds the conversation. The webhook
records what a delivery says about its threads in the same commit as its jobs (``put(...,
signals=...)``), so delivery never sees a job without what came with it; and so are the
notification-messages tokens its opt-ins gave (``put(..., tokens=...)``), kept per Page and
read through ``Notifications``.
"""

from bridge.queue.records import (
    STATES,
    TOKEN_RETENTION_MS,
    Claim,
    DeadLetter,
    Job,
    Message,
    NewJob,
    NotificationToken,
    OutboundRecord,
    PageState,
    PutResult,
    Worker,
    forget_token_at,
    token_of,
)
from bridge.queue.roles import (
    Admin,
    Batches,
    DeliveryQueue,
    Housekeeping,
    Jobs,
    JobSink,
    Notifications,
    OutboundLedger,
    OutboundReads,
    OutboundSink,
    Pages,
    Queue,
    Stats,
    Threads,
)

__all__ = [
    "STATES",
    "TOKEN_RETENTION_MS",
    "Admin",
    "Batches",
    "Claim",
    "DeadLetter",
    "DeliveryQueue",
    "Housekeeping",
    "Job",
    "JobSink",
    "Jobs",
    "Message",
    "NewJob",
    "NotificationToken",
    "Notifications",
    "OutboundLedger",
    "OutboundReads",
    "OutboundRecord",
    "OutboundSink",
    "PageState",
    "Pages",
    "PutResult",
    "Queue",
    "Stats",
    "Threads",
    "Worker",
    "forget_token_at",
    "token_of",
]
