"""Cases: the event vocabulary, risk matrices, the state fold, and their persistence.

The domain modules (events, clock, matrices, validation, state, lines) are pure; the
store modules (db, tables, store, importing, recording) are the only ones here that
touch a database.
"""
