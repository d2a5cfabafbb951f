"""The soak: minutes of load from many senders through Graph and Lex faults and two restarts.

    python -m bench.soak [--duration 240] [--senders 200] [--rate 25] [--folder DIR]  (make soak)

Not part of ``make test`` (a short run of it is: ``tests/e2e/test_soak_e2e.py``). Meta's side
(``bench.soak.meta``) has each sender write numbered messages in order and posts every delivery
again until it is acked, as Meta does, now and then twice; the Graph fake fails a seeded 10 %
of sends with 500/503 and holds 1 % past the bridge's Graph timeout (delivered, but the bridge
cannot know: an ambiguous send), the Lex fake throttles 5 % of calls (``bench.fakes``,
``bench.lexfake``, ``bench.faultplan``); the server is killed with ``kill -9`` and restarted
once, and stopped with SIGTERM and restarted once, on the same port and database
(``bench.soak.server``). After a drain with the faults off, every message is accounted for from
the fakes' own records (``bench.soak.tally``) and the figures and targets are printed
(``bench.soak.report``): 0 lost, 0 out of order, 0 webhook 5xx, duplicates only for ambiguous
sends, a Lex turn run twice only where a kill -9 cut it off. ``bench.soak.run`` is the command
line and the run.
"""
