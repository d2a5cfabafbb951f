"""The sample bot: a symptom checker, served by the local Lex endpoint and by the Lambda example."""
