"""What valid configuration values look like, shared by the environment and the pages file."""

from __future__ import annotations

import re

PAGE_ID = re.compile(r"^\d{1,30}$")
APP_ID = re.compile(r"^\d{1,30}$")
LEX_BOT_ID = re.compile(r"^[0-9A-Za-z]{10}$")
LEX_ALIAS_ID = re.compile(r"^[0-9A-Za-z]{1,100}$")
LEX_V1_BOT_NAME = re.compile(r"^(?=.{2,50}$)([A-Za-z]_?)+$")
LEX_V1_ALIAS = re.compile(r"^(\$LATEST|(?=.{1,100}$)([A-Za-z]_?)+)$")
LOCALE = re.compile(r"^[a-z]{2}_[A-Z]{2}$")
# A Lex intent name: letters, digits and underscores, starting with a letter (Lex's own rule,
# https://docs.aws.amazon.com/lexv2/latest/APIReference/API_CreateIntent.html), up to 100.
INTENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
PAGE_TOKEN = re.compile(r"^[\x21-\x7e]{8,}$")  # printable, no spaces: goes in an HTTP header

PAGE_ID_HINT = "digits, e.g. 1234567890"
LEX_BOT_ID_HINT = "the 10-character bot id, e.g. ABCDE12345"
LEX_ALIAS_ID_HINT = "the alias id (not its name), e.g. TSTALIASID or 1A2B3C4D5E"
LEX_V1_BOT_NAME_HINT = (
    "the Lex V1 bot's name (2-50 letters, single underscores between), e.g. FluBot"
)
LEX_V1_ALIAS_HINT = "the Lex V1 alias name (letters, single underscores between) or $LATEST"
LOCALE_HINT = "a locale such as en_US or ko_KR"
INTENT_NAME_HINT = "a Lex intent name (letters, digits and underscores), e.g. TalkToPerson"
PAGE_TOKEN_HINT = "the Page access token (starts with EAA…, no spaces)"

# Messenger's attachment types as the bridge names them (a sticker sent as an image is a sticker).
ATTACHMENT_KINDS = ("image", "audio", "video", "file", "fallback", "sticker", "location")
# The kinds of events that carry no text: what the bot gets instead is chosen by kind
# (BRIDGE_NO_TEXT_INPUTS, BRIDGE_NO_TEXT_REPLY_KINDS and their pages-file fields).
NO_TEXT_KINDS = (*ATTACHMENT_KINDS, "like", "other", "referral", "optin")
