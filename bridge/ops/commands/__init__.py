"""The operations commands of ``python -m bridge``: one module per command (or group), each a
click command that parses its arguments and calls the operations module that does the work.

``bridge/cli.py`` is the group: it adds these to itself beside the commands that run the
bridge (serve, demo, worker). Heavy imports (boto3, the queue, Graph) wait inside the command
bodies, so ``--help`` stays fast.
"""
