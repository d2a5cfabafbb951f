"""What the sample bot says, in English and Korean, and the room Lex gives it: a message's
length in UTF-16 code units, the buttons on a card, the conditions on a page of the list.

Standard library only, like the rest of the dialog, so a Lambda code hook can carry it.
"""

from __future__ import annotations

import unicodedata

from bridge.local.sample_bot.conditions import Lang
from bridge.messenger.text import utf16_len

PAGE_SIZE = 4  # conditions per list card: with "More…", within Lex's 5 buttons
BUTTONS_MAX = 5  # Lex: buttons on a card
CONTENT_MAX = 1024  # Lex: a message's content, in UTF-16 code units
QUOTE_MAX = 100  # an unknown name quoted back is cut to this

TEXT: dict[Lang, dict[str, str]] = {
    "en": {
        "greeting": "Hi! I'm a symptom checker. I can list common conditions, tell you the usual "
        "symptoms of one, and show which conditions can cause a symptom.",
        "menu": "What would you like to do?",
        "anything_else": "Anything else?",
        "list_title": "Common conditions ({page}/{pages})",
        "list_subtitle": "Tap one to see its symptoms",
        "more": "More…",
        "more_value": "more",
        "symptoms_of": "Common symptoms of {name}: {symptoms}.",
        "symptoms_value": "symptoms of {name}",
        "which_condition": "Which condition?",
        "pick_condition": "Type a name or tap one:",
        "unknown_condition": "I don't know “{name}” yet.",
        "causes": "Conditions that can cause {symptom}: {names}.",
        "see_symptoms": "See the symptoms of:",
        "causes_value": "causes of {symptom}, page {page}",
        "and_more": " and {count} more",
        "which_symptom": "Which symptom?",
        "pick_symptom": "Type a symptom or tap one:",
        "unknown_symptom": "I don't know the symptom “{name}”.",
        "goodbye": "Take care, and I hope you feel well soon! Say “hi” any time to start again.",
        "cancelled": "OK, cancelled.",
        "unavailable": "Sorry, I can't look that up right now. Please try again in a moment.",
        "fallback": 'Sorry, I didn\'t understand "{input}". '
        'Try "list", "symptoms of flu" or "I have a fever".',
    },
    "ko": {
        "greeting": "안녕하세요! 저는 증상 안내 봇이에요. 흔한 질환 목록을 보여 드리고, 질환의 "
        "대표 증상과 어떤 증상이 어떤 질환에서 나타날 수 있는지 알려 드려요.",
        "menu": "무엇을 도와드릴까요?",
        "anything_else": "더 궁금한 것이 있으신가요?",
        "list_title": "흔한 질환 ({page}/{pages})",
        "list_subtitle": "눌러서 증상을 확인하세요",
        "more": "더 보기…",
        "more_value": "더 보기",
        "symptoms_of": "{name}의 흔한 증상: {symptoms}.",
        "symptoms_value": "{name} 증상",
        "which_condition": "어떤 질환인가요?",
        "pick_condition": "이름을 입력하거나 하나를 고르세요:",
        "unknown_condition": "아직 모르는 질환이에요: “{name}”.",
        "causes": "{symptom} 증상이 나타날 수 있는 질환: {names}.",
        "see_symptoms": "증상 보기:",
        "causes_value": "{symptom} 원인 {page}쪽",
        "and_more": " 외 {count}개",
        "which_symptom": "어떤 증상인가요?",
        "pick_symptom": "증상을 입력하거나 하나를 고르세요:",
        "unknown_symptom": "아직 모르는 증상이에요: “{name}”.",
        "goodbye": "몸 건강히 지내세요! 언제든 “안녕”이라고 하면 다시 시작할 수 있어요.",
        "cancelled": "취소했어요.",
        "unavailable": "죄송해요, 지금은 찾아볼 수 없어요. 잠시 후 다시 시도해 주세요.",
        "fallback": '죄송해요, 이해하지 못했어요: "{input}". '
        '"목록", "독감 증상" 또는 "열이 나요"라고 해 보세요.',
    },
}
MENU: dict[Lang, list[tuple[str, str]]] = {
    "en": [
        ("List conditions", "list"),
        ("Check a symptom", "check a symptom"),
        ("Symptoms of flu", "symptoms of flu"),
    ],
    "ko": [("질환 목록", "질환 목록"), ("증상 확인", "증상 확인"), ("독감 증상", "독감 증상")],
}


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-16 units, ending with "…" when cut."""
    if utf16_len(text) <= limit:
        return text
    kept: list[str] = []
    room = limit - 1
    for char in text:
        room -= utf16_len(char)
        if room < 0:
            break
        kept.append(char)
    while kept and (unicodedata.combining(kept[-1]) or kept[-1] in "\u200d\ufe0e\ufe0f"):
        kept.pop()  # do not leave a joiner or a mark without what it joins or marks
    return "".join(kept).rstrip() + "…"


def pages(count: int, size: int) -> int:
    """How many pages of ``size`` hold ``count`` items (at least one)."""
    return max(1, -(-count // size))
