"""Operations commands behind the CLI: setup, check, init-aws, replay, chat, queue reports."""
