"""``python -m bridge setup``: subscribe the Page to the app and apply a Messenger profile.

The steps, each in its own module:

- ``profile_file``: read a profile file (JSON, or YAML with PyYAML) and validate it against
  Messenger's limits (``bridge.messenger.profile``), every problem at once;
- ``plan``: the subscription plan and the field-by-field profile plan (pure);
- ``render``: those plans as lines for the terminal, with a diff under each changed field;
- ``budget``: the Messenger Profile API's call budget (10 calls per 10 minutes per Page) and
  the small file that counts this machine's calls;
- ``apply``: ``run_setup``, the Graph calls, written out through ``echo`` as they happen.
"""
