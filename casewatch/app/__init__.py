"""The application layer: commands and queries, their handlers, the unit of work they
run in, and the Application every adapter (API, pages, CLI) is a thin translation over.
Access rules and audit rows are decided here, never in an adapter."""
