"""Service functions: the work behind each route, callable without HTTP.

They take a `Session` and never commit: the caller (one request, one CLI command) owns the
transaction.
"""
