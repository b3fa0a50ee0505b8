"""Domain errors raised by services; routes map them to HTTP codes, actions to responses."""


class WaymarkError(Exception):
    """Base class of every domain error."""


class NotFound(WaymarkError):
    """The thing asked for does not exist."""


class InvalidInput(WaymarkError):
    """The input cannot be used (empty, malformed, in the past...)."""


class Conflict(WaymarkError):
    """The request conflicts with the current state (e.g. already acknowledged)."""


class NotAuthorised(WaymarkError):
    """The caller may not do this."""


class ConfigurationError(WaymarkError):
    """Settings are missing or inconsistent."""
