"""Reliability: crashes, restarts, concurrency and hostile input, with real processes."""
