"""``kiosk eval``: whole witnesses over a realistic corpus, through the real server.

See ``corpus`` (faces, voices, cases), ``run`` (running and summarising) and
docs/evaluation.md (how to assemble a corpus and read the tables).
"""
