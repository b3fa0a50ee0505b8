"""Waymark core: shared by the API gateway and the Rasa action server.

This package must import neither FastAPI nor rasa_sdk (a test holds it to that).
"""
