"""The ids tests share, each defined once.

Unit tests talk about one Page and one person; the recorded webhook corpus (and the tests that
parse it) about another Page and person, as they were recorded; the Page Inbox app is Meta's.
"""

from __future__ import annotations

PAGE_ID = "111111111111111"  # the Page of the unit tests' deliveries (conftest.delivery)
PSID = "6789012345678901"  # the person of the unit tests
OTHER_PSID = "1234567890123456"  # a second person, where a test needs two

CORPUS_PAGE_ID = "104859375629481"  # the Page of the webhook corpus (tests/fixtures/webhooks)
CORPUS_PSID = "6723491837465921"  # the person of the webhook corpus

PAGE_INBOX_APP_ID = 263902037430900  # Meta's Page Inbox app (messenger.md §9)
