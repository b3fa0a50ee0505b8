"""Waymark Rasa assistant: domain, custom NLU components and the spaCy pipeline builder."""
