"""gunicorn settings for the baselines: the bridge's (gunicorn.conf.py) without its hooks.

Same worker class, processes, threads, keep-alive and access log to stdout; ``PORT``,
``WEB_CONCURRENCY`` and ``BRIDGE_WEB_THREADS`` as the bridge reads them.
"""

import os

bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("BRIDGE_WEB_THREADS", "8"))
keepalive = 5
errorlog = "-"
accesslog = "-"
control_socket_disable = True
