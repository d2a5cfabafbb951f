"""messenger-lex-bridge: Facebook Messenger ⇄ Amazon Lex, self-hosted."""

__version__ = "0.1.0"
