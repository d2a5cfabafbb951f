"""``python -m bridge check``: is everything the bridge needs in place? Each failure in plain
words, with its fix.

The checks, in order, by module:

1. **Page token** (``page_token``) — ``GET /me?fields=id,name``: the token works, and which
   Page it belongs to (it must be FB_PAGE_ID's, when that is set).
2. **App secret** (``page_token``) — the same call carries an ``appsecret_proof`` made with
   FB_APP_SECRET; Graph refuses an invalid proof with an error (code 100, "Invalid
   appsecret_proof"). When it does, the call is repeated without a proof to tell a bad secret
   from a bad token.
3. **Token details** (``token_details``) — only with an app id (FB_APP_ID): ``GET
   /debug_token`` with the app token ``APP_ID|APP_SECRET`` adds what ``/me`` cannot say: the
   token's app, its type (Page or user), expiry and permissions.
4. **Webhook subscription** (``subscription``) — ``GET /{page}/subscribed_apps``: the Page is
   subscribed to this app with the fields the bridge needs. Meta unsubscribes a Page by itself
   after about an hour of failed deliveries; this is where that shows.
5. **Lex bot** (``lex``, ``lex_v1``; their shared error table in ``lex_errors``) — Lex V2: one
   RecognizeText turn ("hello", session ``bridge-check``) with the configured bot, alias,
   locale, Region and credentials: the exact call and permission the bridge uses (see
   ``check_lex`` for why not GetSession). Lex V1 (past end of support): ``lex-models`` GetBot
   on the bot name and alias, which says whether the bot is built, with no turn run (see
   ``check_lex_v1``).
6. **Queue database** (``queue``) — open it, ``BEGIN IMMEDIATE``, roll back: it can be
   written; with BRIDGE_QUEUE=sqs, the queues and the table answer and take writes.

With several Pages (``BRIDGE_PAGES_FILE``), checks 1–5 run for each Page with its own token
and bot (a bot shared by Pages is checked once), then check 6 (``runner.run_page_checks``).
Each check's verdict is a ``result.CheckResult``; the ``interpret_*`` functions are pure, the
``check_*`` functions and ``runner`` do the I/O, ``render`` prints the verdicts.
"""
