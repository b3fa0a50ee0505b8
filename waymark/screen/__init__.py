"""The Waymark disclosure screen.

``screen(text)`` says whether a message discloses harm, how severe it is, which categories it
falls into and why. It needs only the standard library, numpy and PyYAML, and does no work at
import time: the lexicon is compiled and the classifier trained on the first call.
"""

from waymark.screen.core import ScreenResult, screen
from waymark.screen.severity import is_paged

__all__ = ["ScreenResult", "is_paged", "screen"]
