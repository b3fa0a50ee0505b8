"""Held-out evaluation set and benchmark for the Waymark disclosure screen."""
