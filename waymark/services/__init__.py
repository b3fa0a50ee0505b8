"""Services: plain functions taking a session and keyword arguments, one module per capability."""
