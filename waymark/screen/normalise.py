"""Text normaliser: folds the ways people actually type into one plain form.

Young people and parents write in text-speak, misspell, stretch letters ("nooooo"), swap letters
for digits ("k1ll mys3lf"), space letters out ("k i l l") and use platform-safe evasions
("unalive", "sewerslide"). Both the lexicon and the classifier read the normalised text, so one
pattern covers every spelling.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

# Evasions and text-speak, applied to whole tokens (after lower-casing and apostrophe removal).
# Why a table and not the lexicon: these are spellings, not meanings; expanding them first lets
# every lexicon pattern and the classifier see one form.
_WORDS: Final[dict[str, str]] = {
    # evasions used to get past content filters
    "unalive": "kill",
    "unalived": "killed",
    "unaliving": "killing",
    "unalives": "kills",
    "sewerslide": "suicide",
    "sewer-slide": "suicide",
    "suicide's": "suicide",
    "sooicide": "suicide",
    "suicde": "suicide",
    "sucide": "suicide",
    "suiside": "suicide",
    "suicidal": "suicidal",
    "kms": "kill myself",
    "kmslf": "kill myself",
    "kys": "kill yourself",
    "ctb": "catch the bus",
    "selfharm": "self harm",
    "selfharming": "self harming",
    "s/h": "self harm",
    "s.h": "self harm",
    "sh'ing": "self harming",
    "shing": "self harming",
    "sh-ing": "self harming",
    "shd": "self harmed",
    "seggs": "sex",
    "secks": "sex",
    "segs": "sex",
    "grape": "grape",
    "graped": "raped",
    "r@ped": "raped",
    "rapped": "rapped",
    "nudez": "nudes",
    "noods": "nudes",
    "nudies": "nudes",
    "pedo": "paedo",
    "pedos": "paedos",
    "pedophile": "paedophile",
    "od": "overdose",
    "od'd": "overdosed",
    "odd'd": "overdosed",
    "oding": "overdosing",
    # text-speak
    "u": "you",
    "ur": "your",
    "urself": "yourself",
    "r": "are",
    "y": "why",
    "im": "im",
    "ive": "ive",
    "ya": "you",
    "yh": "yeah",
    "ye": "yeah",
    "bc": "because",
    "cos": "because",
    "coz": "because",
    "cuz": "because",
    "bcoz": "because",
    "bcos": "because",
    "tho": "though",
    "wanna": "want to",
    "gonna": "going to",
    "gunna": "going to",
    "gna": "going to",
    "tryna": "trying to",
    "finna": "going to",
    "gotta": "got to",
    "hafta": "have to",
    "lemme": "let me",
    "gimme": "give me",
    "dunno": "dont know",
    "idk": "i dont know",
    "idc": "i dont care",
    "idek": "i dont even know",
    "ppl": "people",
    "pple": "people",
    "bf": "boyfriend",
    "gf": "girlfriend",
    "bday": "birthday",
    "2day": "today",
    "2dy": "today",
    "2nite": "tonight",
    "2night": "tonight",
    "tonite": "tonight",
    "tnight": "tonight",
    "2moro": "tomorrow",
    "2morrow": "tomorrow",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmw": "tomorrow",
    "b4": "before",
    "m8": "mate",
    "m8s": "mates",
    "gr8": "great",
    "l8r": "later",
    "l8": "late",
    "w8": "wait",
    "4ever": "forever",
    "some1": "someone",
    "sum1": "someone",
    "any1": "anyone",
    # Leetspeak that would otherwise pass for a number with a unit ("4m", "0k", "1s").
    "4m": "am",
    "0k": "ok",
    "1s": "is",
    "every1": "everyone",
    "no1": "no one",
    "nuff": "enough",
    "pls": "please",
    "plz": "please",
    "pleaseee": "please",
    "thx": "thanks",
    "sry": "sorry",
    "soz": "sorry",
    "rn": "right now",
    "atm": "at the moment",
    "asap": "as soon as possible",
    "bro": "bro",
    "bruv": "bro",
    "fam": "fam",
    "mam": "mum",
    "mom": "mum",
    "mommy": "mum",
    "mummy": "mum",
    "ma": "mum",
    "dad's": "dads",
    "mums": "mums",
    "stepdad": "stepdad",
    "step-dad": "stepdad",
    "stepfather": "stepdad",
    "stepmum": "stepmum",
    "step-mum": "stepmum",
    "stepmom": "stepmum",
    "yr": "year",
    "yrs": "years",
    "yo": "year old",
    "y/o": "year old",
    "yrold": "year old",
    "wiv": "with",
    "wid": "with",
    "w/": "with",
    "nd": "and",
    "n": "and",
    "da": "the",
    "dat": "that",
    "dis": "this",
    "dem": "them",
    "dey": "they",
    "wot": "what",
    "wat": "what",
    "wut": "what",
    "luv": "love",
    "hav": "have",
    "av": "have",
    "bin": "been",
    "knw": "know",
    "kno": "know",
    "nah": "no",
    "naw": "no",
    "dnt": "dont",
    "cant": "cant",
    "cnt": "cant",
    "wont": "wont",
    "wnt": "want",
    "rly": "really",
    "rlly": "really",
    "srsly": "seriously",
    "ppl's": "peoples",
    "sumthin": "something",
    "sumthing": "something",
    "somethin": "something",
    "nothin": "nothing",
    "nuthin": "nothing",
    "evry": "every",
    "evryday": "everyday",
    "evry1": "everyone",
    "bcuz": "because",
    "thru": "through",
    "hme": "home",
    "skl": "school",
    "skool": "school",
    "scl": "school",
    "sch": "school",
    "abt": "about",
    "bout": "about",
    "wen": "when",
    "wiv'": "with",
    "cus": "because",
    "jus": "just",
    "jst": "just",
    "nvm": "never mind",
    "omg": "oh my god",
    "ffs": "for fucks sake",
    "smth": "something",
    "sth": "something",
    "tbh": "to be honest",
    "ngl": "not going to lie",
    "fr": "for real",
    "frfr": "for real",
    "deffo": "definitely",
    "def": "definitely",
    "prob": "probably",
    "probs": "probably",
    "mins": "minutes",
    "hrs": "hours",
}

# Leetspeak letters, used only inside tokens that mix letters and these symbols ("k1ll", "sh00t"),
# so that ages and times ("12", "10pm", "14yo") survive.
_LEET: Final[dict[str, str]] = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "!": "i",
    "|": "l",
    "€": "e",
}
_LEET_TABLE: Final[dict[int, str]] = str.maketrans(_LEET)

_SPELLED_EVASIONS: Final[dict[str, str]] = {
    "sh": "self harm",
    "kms": "kill myself",
    "kys": "kill yourself",
    "ctb": "catch the bus",
    "od": "overdose",
}

_TOKEN = re.compile(r"[^\s]+")
_MIXED = re.compile(r"[a-z][0-9@$!|€]|[0-9@$!|€][a-z]")
_NUMERIC_UNIT = re.compile(
    r"^\d+(?:[:.]\d+)?(?:am|pm|yo|yr|yrs|y|st|nd|rd|th|k|p|m|x|s|ish|mg|ml|g)?$"
)
_REPEATS = re.compile(r"([a-z])\1{2,}")
# "2" for "to" after a word that takes an infinitive or a direction ("want 2 die", "going 2
# kill", "how 2 tell"); after "have", "got" or "made" only when a verb follows ("have 2 go"),
# so "took 2 paracetamol", "had 2 pills" and "has 2 phones" keep their numbers.
_TWO_AS_TO = re.compile(
    r"\b(want|wants|wanted|wanna|going|gonna|need|needs|needed|tried|try|trying|like|love|"
    r"hate|used|supposed|able|ready|scared|afraid|allowed|told|asked|deserve|deserves|how|"
    r"where|what|nowhere|reason|go|goes|went|come|came|back|forced|forcing) 2 (?=[a-z])"
    r"|\b(have|has|had|got|made|make|makes) 2 (?=(?:go|do|be|tell|leave|pay|carry|hold|sell|"
    r"keep|stay|hide|sleep|say|get|take|move|run|see|meet|live|give|send|help|stop|drop|"
    r"deliver|look|watch|eat|act|pretend|lie|listen|kill|die|hurt|cut)\b)"
)
# A run of 3+ single letters separated by spaces, dots, dashes or underscores: "k i l l", "s.h".
_SPACED = re.compile(r"\b(?:[a-z][ .\-_*]{1,2})+[a-z]\b")
_APOSTROPHE = re.compile(r"[’'`´]")
_NON_TEXT = re.compile(r"[^a-z0-9\s/@$!|€.,?\-]")
_SPACE = re.compile(r"\s+")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _fix_token(token: str) -> str:
    core = token.strip('.,?!;:()"[]{}<>')
    # Keep the trailing punctuation so that sentence boundaries survive for the lexicon.
    tail = token[len(token.rstrip('.,?!;:()"[]{}<>')) :] if core else ""
    if not core:
        return token
    mapped = _WORDS.get(core)
    if mapped is None and _MIXED.search(core) and not _NUMERIC_UNIT.match(core):
        leet = core.translate(_LEET_TABLE)
        mapped = _WORDS.get(leet, leet)
    if mapped is None:
        return core + tail
    return mapped + tail


def _join_spaced(match: re.Match[str]) -> str:
    letters = re.sub(r"[ .\-_*]", "", match.group(0))
    # Short runs are usually text-speak ("u r a"), not a word spelled out, unless they are a
    # known evasion ("k m s").
    if len(letters) < 4:
        if letters in _SPELLED_EVASIONS:
            return _SPELLED_EVASIONS[letters]
        return match.group(0)
    return letters


@functools.lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    """Fold a message into the plain lower-case form the screen matches against.

    Steps: Unicode compatibility fold and accent stripping, lower case, apostrophes removed
    ("don't" -> "dont"), letters stretched three or more times cut to two ("soooo" -> "soo"),
    spaced-out letters joined ("k i l l" -> "kill"), leetspeak inside words ("k1ll" -> "kill"),
    text-speak and filter evasions expanded ("kms" -> "kill myself", "2nite" -> "tonight"), and
    "2" read as "to" before a verb ("want 2 die" -> "want to die").

    Args:
        text: The message as received.

    Returns:
        The normalised text: lower case, single spaces, basic punctuation kept.
    """
    folded = _strip_accents(unicodedata.normalize("NFKC", text)).casefold()
    folded = _APOSTROPHE.sub("", folded)
    folded = folded.replace("self-harm", "self harm").replace("self-harming", "self harming")
    folded = _REPEATS.sub(r"\1\1", folded)
    folded = _SPACED.sub(_join_spaced, folded)
    tokens = [_fix_token(tok) for tok in _TOKEN.findall(folded)]
    joined = " ".join(tokens)
    joined = _TWO_AS_TO.sub(lambda m: f"{m.group(1) or m.group(2)} to ", joined)
    joined = _NON_TEXT.sub(" ", joined)
    return _SPACE.sub(" ", joined).strip()
