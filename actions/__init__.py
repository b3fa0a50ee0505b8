"""Rasa custom actions: thin adapters over `waymark.services`."""
