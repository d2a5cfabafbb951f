"""What the user may say: the commands, and the patterns that find a condition or a symptom
named in a sentence (English or Korean), and which language an input is in.

Pure and standard library only, like the rest of the dialog. Commands are compared after
``normalise()`` (case, punctuation and spacing ignored); patterns match ``clean()`` text.
"""

from __future__ import annotations

import re
from typing import Literal

from bridge.local.sample_bot.conditions import Lang, is_korean, normalise

Slot = Literal["Condition", "Symptom"]

# What the user may say, compared after normalise(): case, punctuation and spacing ignored.
WELCOME = frozenset(
    {"hi", "hello", "hey", "help", "start", "get started", "menu", "hi there", "hello there"}
    | {"hey there", "what can you do", "안녕", "안녕하세요", "도움말", "도움", "시작", "메뉴"}
    # What the bridge asks for a person who just opted in (notification messages, Send to
    # Messenger) or arrived by an m.me link or an ad: BRIDGE_NO_TEXT_INPUTS' defaults.
    | {"optin", "referral"}
)
GOODBYE = frozenset(
    {"thanks", "thank you", "thanks a lot", "thank you very much", "thx", "ok thanks"}
    | {"okay thanks", "ok thank you", "bye", "goodbye", "good bye", "bye bye", "see you"}
    | {"고마워", "고마워요", "고맙습니다", "감사", "감사해요", "감사합니다", "안녕히"}
    | {"안녕히 가세요", "안녕히 계세요", "잘 있어", "잘 있어요"}
)
LIST = frozenset(
    {"list", "conditions", "list conditions", "list the conditions", "list all conditions"}
    | {"show conditions", "all conditions", "common conditions", "목록", "질환 목록"}
    | {"질병 목록", "질환", "질병", "질환 보기"}
)
MORE = frozenset({"more", "more conditions", "next", "next page", "더 보기", "더보기", "다음"})
CHECK_SYMPTOM = frozenset(
    {"check a symptom", "check symptom", "check symptoms", "check my symptoms", "symptom"}
    | {"symptom check", "symptom checker", "증상 확인", "증상 확인하기", "증상 체크"}
)
NAME_SYMPTOMS = frozenset({"symptoms", "증상", "증상은"})
CANCEL = frozenset({"cancel", "never mind", "nevermind", "stop", "취소", "그만"})
NEUTRAL = frozenset({"get started", "more"})  # button values that keep the session's language

_SYMPTOM_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"(?:i|we) (?:have|ve|m|am|got|get|feel|keep)"
        r"(?: (?:got|been|having|getting|feeling))* (?P<s>.+)",
        r"(?:ive|im|weve)(?: (?:got|been|having|getting|feeling))* (?P<s>.+)",
        r"(?:which|what) (?:conditions?|illness(?:es)?|diseases?|sickness(?:es)?) "
        r"(?:can |could |might )?(?:cause|causes|give|gives|have|has|include|includes) (?P<s>.+)",
        r"what (?:can |could |might )?(?:cause|causes|gives?) (?P<s>.+)",
        r"whats causing (?P<s>.+)",
        r"symptom (?!(?:of|for)\b)(?P<s>.+)",
        r"check (?:a |my )?symptoms? (?P<s>.+)",
    )
)
_CONDITION_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"(?:(?:what|which) (?:are|is|re)(?: the)? |whats(?: the)? |tell me(?: the)? "
        r"|show me(?: the)? |show(?: the)? |list(?: the)? |give me(?: the)? )?"
        r"(?:common |usual |typical |main )?symptoms? (?:of|for)(?: (?P<x>.+))?",
        r"(?:what|which) (?:are|is)(?: the)? symptoms?",
        r"(?:(?:what|which) (?:are|is)(?: the)? )?(?P<x>.+?) symptoms?",
        r"(?P<x>.+?)(?:의)? ?증상(?:은|이|좀)? ?(?:뭐야|뭐예요|뭐에요|뭔가요|무엇인가요"
        r"|알려 ?줘|알려 ?주세요|보여 ?줘|보여 ?주세요)?",
    )
)
_KOREAN_SYMPTOM_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"(?P<s>.+?) ?증상(?:이|도)? ?(?:있어요|있어|있습니다|있는데|있음)",
        r"(?P<s>.+?)(?:이|가|도)? ?(?:나요|나|납니다|나는데|나와요|있어요|있어|있습니다|심해요"
        r"|아파요|아파|아픕니다)",
        r"(?P<s>.+?)(?:을|를) ?(?:해요|합니다|했어요)",
    )
)
# In this order: a Korean "X 증상" asks for X's symptoms, "X 증상이 있어요" says one has X.
RULES: tuple[tuple[tuple[re.Pattern[str], ...], str, Slot], ...] = (
    (_SYMPTOM_PATTERNS, "s", "Symptom"),
    (_CONDITION_PATTERNS, "x", "Condition"),
    (_KOREAN_SYMPTOM_PATTERNS, "s", "Symptom"),
)

_LATIN = re.compile(r"[A-Za-z]")
LEADING_ARTICLE = re.compile(r"^(?:(?:a|an|the|some|my) )+(?=\S)", re.IGNORECASE)
# "causes of headache, page 2" / "두통 원인 2쪽": the conditions causing a symptom, one page.
CAUSES_PATTERNS = (
    re.compile(
        r"(?:what are the )?(?:causes|conditions) (?:of|for|with) (?P<s>.+?)"
        r"(?: page (?P<p>\d{1,4}))?",
        re.IGNORECASE,
    ),
    re.compile(r"(?P<s>.+?) ?원인(?: ?(?P<p>\d{1,4}) ?쪽)?"),
)


def language(text: str, remembered: Lang) -> Lang:
    """Korean for Hangul, English for other letters; the session's for language-free input
    (the Get Started payload, "more", "#turns", digits or emoji)."""
    if is_korean(text):
        return "ko"
    if text.lstrip().startswith("#") or normalise(text) in NEUTRAL or not _LATIN.search(text):
        return remembered
    return "en"
