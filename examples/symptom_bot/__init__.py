"""The source guide's symptom checker on AWS: a Lex V2 bot whose Lambda code hook runs the
sample bot's dialog (bridge/local/sample_bot/symptoms.py) over a DynamoDB table.

The code lives in this importable package (``python -m examples.symptom_bot.load`` and the
Lambda handler ``examples.symptom_bot.handler.handler``); what you deploy and read lives beside
it in ``examples/symptom_bot/``: the walkthrough (README.md), the CloudFormation template, the
Makefile and the Lex V2 events the tests replay.

Modules: ``lexv2`` (pure: a Lex V2 event in, a Lex V2 response out), ``items`` (pure: the table's
items), ``dynamo`` (the dialog's reads from DynamoDB), ``handler`` (the Lambda entry point),
``load`` (the seed loader), ``build`` (the Lambda package), ``template`` (the bot definition).
"""

from pathlib import Path

EXAMPLE_DIR = Path(__file__).resolve().parent
