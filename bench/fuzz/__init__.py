"""Never a 500 for a signed body: mutated webhook deliveries posted to a real server.

    python -m bench.fuzz [--count 100000] [--seed 1] [--connections 4]     (make fuzz)
    python -m bench.fuzz --url URL [--app-secret …] [--log FILE] [--max-body-bytes N]
    python -m bench.fuzz --seed S --now MS --replay INDEX [--dump DIR]

By default it starts its own server, as the benchmark does: gunicorn at its default settings
(2 processes × 8 threads) with Lex and the Graph Send API faked on loopback, serving the Page
of the webhook corpus, so whatever parses is also delivered. It posts ``--count`` cases over a
few keep-alive connections, each made from a delivery of tests/fixtures/webhooks by one kind
of mutation (``bench.fuzz.cases``): types, ranges, depths, sizes, Unicode, keys, several at
once, raw bytes, bodies at the size limit, bodies that are not JSON, and a few unsigned or
wrongly signed. Most are signed correctly: the point is to get past the signature. Then it
waits for the queue to drain, stops the server and prints the statuses (overall and per kind),
each case that got a status it should not have (with the command that sends it again), what
the log holds (tracebacks, worker restarts, any secret, and its ERROR lines grouped by what
they say) and whether the server stayed alive and answered ``/healthz``. With ``--url`` it
fuzzes a server already running (signing with its app secret; ``--log`` names its log to
read). The target: every case answered as its kind expects (no 5xx above all), no traceback,
no restarted worker, no secret in the log, the server alive.

Case ``i`` of a seed is the same every time for the same ``--now`` (the time the corpus is
retimed to), so ``--replay i`` sends exactly that case again; ``--dump DIR`` writes the bodies
of failed (or replayed) cases. Exit status 0 when the target is met, 1 when not.

The mutations are pure functions in ``bench.fuzz.mutations``; ``bench.fuzz.sender`` posts,
``bench.fuzz.target`` starts the server, ``bench.fuzz.logscan`` and ``bench.fuzz.report``
read the log and print the verdict.
"""
