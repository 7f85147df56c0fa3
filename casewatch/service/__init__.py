"""Composition root: settings, logging, the CLI (and later the HTTP service and worker).

The only package that reads the environment or wires the others together.
"""
