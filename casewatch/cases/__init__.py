"""Cases: the event vocabulary, risk matrices, the state fold, and their persistence.

The domain modules (events, clock, matrices, validation, state) are pure; the store
modules (db, tables, store, importing) are the only ones here that touch a database.
"""
