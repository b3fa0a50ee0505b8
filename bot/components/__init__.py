"""Custom Rasa NLU components for Waymark."""
