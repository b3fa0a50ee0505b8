"""Tests for the disclosure screen (waymark.screen)."""

from __future__ import annotations

import ast
import io
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.support.processes import run_python
from waymark.screen import ScreenResult, is_paged, screen
from waymark.screen.cli import run
from waymark.screen.core import PURE_POLICY, Lexical, decide
from waymark.screen.model import CATEGORIES, Model, Prediction
from waymark.screen.normalise import normalise

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"

EMERGENCIES = [
    ("im going to kill myself tonight", "self_harm_suicide"),
    ("I've taken loads of pills", "self_harm_suicide"),
    ("he's outside with a knife", "immediate_danger"),
    ("gonna k1ll mys3lf 2nite", "self_harm_suicide"),
]

URGENT_OR_MORE = [
    ("my stepdad hits me", "physical_abuse"),
    ("I'm being forced to have sex and I'm only 12", "sexual_abuse_cse"),
    ("he makes me do stuff i dont want to", "sexual_abuse_cse"),
    ("my uncle comes in my room at night", "sexual_abuse_cse"),
    ("i have to hold things for them or i owe them", "criminal_exploitation"),
    ("i s/h again last night", "self_harm_suicide"),
    ("thinking about sewerslide", "self_harm_suicide"),
    ("i want to unalive myself", "self_harm_suicide"),
    ("kms fr", "self_harm_suicide"),
    ("k i l l m y s e l f", "self_harm_suicide"),
    ("my friend says her dad beats her", "physical_abuse"),
    ("my parents are taking me abroad to get married", "forced_marriage"),
    ("my daughter has been missing since friday", "missing_runaway"),
    ("a man from online keeps asking me for pics", "online_harm"),
    ("i carry a knife for protection", "weapons_violence"),
    ("my dad hits my mum when hes drunk", "domestic_abuse"),
    ("theres no food in the house and mum hasnt been home for days", "neglect"),
    ("everyone at school keeps telling me to kys", "bullying_peer_abuse"),
    ("a man on telegram says i should join isis", "radicalisation"),
]

PARENT_SIGNS = [
    "my son has a new phone, loads of cash and older friends i have never met",
    "my daughter keeps getting dropped off by men in cars and has new clothes",
]

HARD_NEGATIVES = [
    "this homework is killing me",
    "i could murder a pizza",
    "my mum would kill me if i failed",
    "dead funny",
    "I'm dying of laughter",
    "we smashed it",
    "what is county lines? it's for a project",
    "the knife in food tech is blunt",
    "i love drill music",
    "my son won't do his homework",
    "what does grooming mean, we did it in pshe",
]


@pytest.mark.parametrize(("text", "category"), EMERGENCIES)
def test_emergencies(text: str, category: str) -> None:
    result = screen(text)
    assert result.severity == "emergency", result.evidence
    assert category in result.categories
    assert is_paged(result.severity)


@pytest.mark.parametrize(("text", "category"), URGENT_OR_MORE)
def test_urgent_disclosures_are_paged(text: str, category: str) -> None:
    result = screen(text)
    assert is_paged(result.severity), (text, result.evidence)
    assert category in result.categories, (text, result.categories)
    assert result.evidence


@pytest.mark.parametrize("text", PARENT_SIGNS)
def test_parent_describing_signs_is_flagged(text: str) -> None:
    result = screen(text)
    assert result.disclosure, result.evidence
    assert result.speaker == "parent"


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hyperbole_and_questions_stay_quiet(text: str) -> None:
    result = screen(text)
    assert result.severity == "none", (text, result.evidence)
    assert result.categories == []


def test_speaker_and_contexts() -> None:
    result = screen("my friend is being made to sell drugs for older boys at the park")
    assert result.speaker == "about_other"
    assert "older boys" in result.contexts["people"]
    assert any("park" in p for p in result.contexts["places"])
    result = screen("a man on snapchat wants to meet me")
    assert "snapchat" in result.contexts["platforms"]
    assert screen("my stepdad hits me").speaker == "self"


def test_severity_policy() -> None:
    assert is_paged("emergency") and is_paged("urgent")
    assert not is_paged("concern") and not is_paged("none")
    with pytest.raises(ValueError):
        is_paged("high")


def test_result_dict_contract() -> None:
    result = screen("my stepdad hits me")
    assert isinstance(result, ScreenResult)
    data = result.to_dict()
    assert set(data) == {"disclosure", "severity", "categories", "evidence", "speaker", "contexts"}
    assert data["disclosure"] is True
    assert set(data["contexts"]) == {"places", "platforms", "people"}


def test_normaliser_folds_evasions() -> None:
    assert normalise("I wanna k1ll mys3lf 2nite") == "i want to kill myself tonight"
    assert normalise("im gonna unalive myself") == "im going to kill myself"
    assert normalise("I'm only 12") == "im only 12"
    assert normalise("soooooo") == "soo"


def test_cli_contract() -> None:
    stdin = io.StringIO("my stepdad hits me\n\nthis homework is killing me\n")
    stdout = io.StringIO()
    assert run(stdin, stdout) == 0
    lines = stdout.getvalue().splitlines()
    assert len(lines) == 3
    rows = [json.loads(line) for line in lines]
    assert rows[0]["disclosure"] is True and rows[0]["severity"] == "urgent"
    assert rows[1] == {
        "disclosure": False,
        "severity": "none",
        "categories": [],
        "evidence": [],
        "speaker": "unknown",
        "contexts": {"places": [], "platforms": [], "people": []},
    }
    assert rows[2]["severity"] == "none"
    for row in rows:
        assert row["severity"] in {"emergency", "urgent", "concern", "none"}
        assert isinstance(row["categories"], list) and isinstance(row["evidence"], list)


def test_deterministic_and_fast() -> None:
    messages = [t for t, _ in URGENT_OR_MORE] + HARD_NEGATIVES
    first = [screen(m).to_dict() for m in messages]
    start = time.perf_counter()
    second = [screen(m).to_dict() for m in messages]
    per_message = (time.perf_counter() - start) / len(messages)
    assert first == second
    # About 3 ms for the lexicon and n-gram classifier and 7 ms for the encoder's forward pass
    # on two cores; the bound that matters is the page latency (make bench: p95 under 2 s).
    assert per_message < 0.05


SAMPLE = [
    "my stepdad hits me",
    "i wanna kms 2nite",
    "i could murder a pizza",
    "my son has two phones and train tickets to other towns",
    "hi",
]


def test_same_results_in_fresh_process_and_rasa_env(tmp_path: Path) -> None:
    # The screen must agree exactly across processes and Python/numpy versions. Each process
    # trains the n-gram classifier in a cache directory of its own, so those weights are its own
    # too; the fine-tuned encoder is built once (make model) and shared, as in production.
    from waymark.screen import cache

    built = cache.encoder_path()
    assert built is not None and built.exists(), "the screen encoder is not built: make model"
    code = (
        "import json,sys; from waymark.screen import screen; "
        f"print(json.dumps([screen(m).to_dict() for m in {SAMPLE!r}]))"
    )
    expected = [screen(m).to_dict() for m in SAMPLE]
    pythons = [sys.executable]
    if RASA_PYTHON.exists():
        pythons.append(str(RASA_PYTHON))
    for i, python in enumerate(pythons):
        (tmp_path / f"cache{i}").mkdir()
        shutil.copy(built, tmp_path / f"cache{i}" / built.name)
        env = os.environ | {"WAYMARK_SCREEN_CACHE": str(tmp_path / f"cache{i}")}
        out = run_python(python, code, env)
        trained = [p for p in (tmp_path / f"cache{i}").glob("*.npz") if p.name != built.name]
        assert trained, "the process did not train"
        assert json.loads(out) == expected, python
    if not RASA_PYTHON.exists():
        pytest.skip(".venv-rasa is missing; checked a fresh .venv process only")


def test_screen_imports_only_stdlib_numpy_yaml() -> None:
    allowed = set(sys.stdlib_module_names) | {"numpy", "yaml", "waymark"}
    for path in (ROOT / "waymark" / "screen").rglob("*.py"):
        # The encoder's trainer runs at build time in .venv-rasa, with Rasa's TensorFlow; the
        # screen itself runs the result in numpy.
        extra = {"tensorflow"} if path.name == "finetune.py" else set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in allowed | extra, f"{path}: imports {name}"
                if top == "waymark":
                    assert name.startswith("waymark.screen"), f"{path}: imports {name}"


def test_the_evidence_names_the_classifiers() -> None:
    result = screen("my stepdad hits me")
    assert any(e.startswith("classifiers (n-gram + encoder):") for e in result.evidence), (
        result.evidence
    )


# --- Lexicon breadth: general phrasings that were missed before (not copied from the data).
LEXICON_PAGED = [
    ("took about 25 of my dads tablets an hour ago", "self_harm_suicide"),
    ("i drank some bleach", "self_harm_suicide"),
    ("tied the belt round the door handle", "self_harm_suicide"),
    ("my uncle put his hand down my pants", "sexual_abuse_cse"),
    ("someone is sharing my nudes round school", "online_harm"),
    ("my parents arranged my wedding and im 14", "forced_marriage"),
    ("i keep a blade on me for protection", "weapons_violence"),
    ("havent eaten since friday theres nothing at home", "neglect"),
    ("please help now hes got a knife", "immediate_danger"),
    ("can someone come get me", "immediate_danger"),
    # Medicines young people can reach: ADHD, sleep and antipsychotic prescriptions.
    ("swallowed all my olanzapine", "self_harm_suicide"),
    ("i took a whole box of my ritalin", "self_harm_suicide"),
    # A child not back, with what worries the parent, without the word "missing".
    ("my boy went to the park at 4 and still isnt back, his phone is off", "missing_runaway"),
    ("nobody knows where my brother is and its dark", "missing_runaway"),
    ("her friends mum said she never turned up", "missing_runaway"),
    ("my stepdad came at my mum with a knife last night", "weapons_violence"),
    ("lads are rushing me outside school tmrw", "weapons_violence"),
    ("took a load of my mums pills with half a bottle of vodka", "self_harm_suicide"),
]

LEXICON_HARMLESS = [
    "took 2 ibuprofen for my headache",
    "got stabbed in among us again lol",
    "my brother hit me with a pillow",
    "gonna kill my sister she ate my crisps",
    "whats the point of algebra",
    "we got kicked out of the cinema for laughing",
    # Help someone already has is not a cry for help.
    "my sister self harmed last year but shes getting help now",
    "he has help now from camhs and a new school",
    "my phone is off till 4 cos im in class so text later",
    "nobody knows where the remote is",
    "my brother chased me with a water gun lol",
    "dreamt a clown went for me with an axe, not watching that film again",
    "im not back till midnight so dont wait up lol",
    "can you take paracetamol with wine",
    "theyre jumping me in fortnite lol",
]


@pytest.mark.parametrize(("text", "category"), LEXICON_PAGED)
def test_lexicon_pages_general_phrasings(text: str, category: str) -> None:
    from waymark.screen.core import read_lexicon

    lexical = read_lexicon(normalise(text))
    assert is_paged(lexical.severity), lexical.evidence
    assert category in {h.category for h in lexical.hits}


@pytest.mark.parametrize("text", LEXICON_HARMLESS)
def test_lexicon_guards_harmless_lookalikes(text: str) -> None:
    from waymark.screen.core import read_lexicon

    lexical = read_lexicon(normalise(text))
    assert not is_paged(lexical.severity), lexical.evidence


EVERYDAY = [
    "my phone screen is cracked and mum said im paying for it",
    "can we move my appointment to thursday",
    "my brother ate all the biscuits again",
]


@pytest.mark.parametrize("text", EVERYDAY)
def test_classifier_does_not_read_harm_into_everyday_sentences(text: str) -> None:
    # Ordinary sentences share surface features (family words, "paying", "screen") with
    # disclosures; a classifier that memorises surface features scores them as harm.
    result = screen(text)
    assert result.severity == "none", (text, result.evidence)


@pytest.mark.parametrize(
    ("text", "paged"),
    [
        ("what should i do if my daughter goes missing", False),
        ("what do i do if my child goes missing", False),
        ("my daughter has gone missing what do i do", True),
        ("my son went missing last night and isnt answering", True),
    ],
)
def test_a_parents_hypothetical_question_is_not_a_disclosure(text: str, paged: bool) -> None:
    assert is_paged(screen(text).severity) is paged, screen(text).evidence


# General kinds of disclosure the lexicon reads without the classifier's help: overdose phrased
# around the act, threats to the writer, adults in a position of trust, neglect of younger
# siblings, "is it normal that..." questions and reported speech. Each is paired below with a
# harmless look-alike of the same shape.
LEXICON_PAGED_KINDS = [
    ("feel dizzy after taking like 30 paracetamol", "self_harm_suicide"),
    ("my brother swallowed something from the medicine cupboard", "self_harm_suicide"),
    ("i just want to go to sleep forever", "self_harm_suicide"),
    ("my friend said shes going to kill herself after school", "self_harm_suicide"),
    ("she writes in her diary i want to die", "self_harm_suicide"),
    ("he texted that when he gets home im dead", "immediate_danger"),
    ("my stepdad is strangling my mum", "immediate_danger"),
    ("my dad hits me with his belt when i get things wrong", "physical_abuse"),
    ("mum forgets to feed my baby brother when shes drinking", "neglect"),
    ("is it normal for my uncle to get in my bed at night", "sexual_abuse_cse"),
    ("my tutor asked me to send him pics and said its our little secret", "sexual_abuse_cse"),
    ("they made me carry stuff for them after school", "criminal_exploitation"),
    ("someone sent me instructions to make a bomb", "radicalisation"),
    # Added from kinds the dev sets showed missing, each worded afresh.
    ("her boyfriend kicked my 4 year old", "physical_abuse"),
    ("he wouldnt let me leave until i sent the pics", "sexual_abuse_cse"),
    ("the only hot meal we get is at breakfast club", "neglect"),
    ("we cant find our daughter anywhere and its late", "missing_runaway"),
    ("theyre sending my sister to bangladesh to be married", "forced_marriage"),
    ("the belt is ready and i know where to tie it", "self_harm_suicide"),
    ("they set up an account called why she should die", "bullying_peer_abuse"),
]

LEXICON_HARMLESS_KINDS = [
    "took 2 calpol for my cold",
    "the ball hit me in the face at netball",
    "i bashed my head on the bunk bed lol",
    "whats that song that goes i want to die in your arms",
    "this pizza is the bomb",
    "my friend cut her fringe herself",
    "im ending it with my boyfriend tomorrow, we just argue",
    "id literally die for a cheesy chips",
    "im gonna die if he texts me back",
    "wanna die i got a 4 in maths",
    "my aunties keep asking when im getting married lol",
    "if i dont tidy my room mums gonna kill me",
]


@pytest.mark.parametrize(("text", "category"), LEXICON_PAGED_KINDS)
def test_lexicon_pages_kinds_of_disclosure(text: str, category: str) -> None:
    from waymark.screen.core import read_lexicon

    lexical = read_lexicon(normalise(text))
    assert is_paged(lexical.severity), lexical.evidence
    assert category in {h.category for h in lexical.hits}, lexical.evidence


@pytest.mark.parametrize("text", LEXICON_HARMLESS_KINDS)
def test_lexicon_leaves_same_shaped_harmless_messages(text: str) -> None:
    from waymark.screen.core import read_lexicon

    lexical = read_lexicon(normalise(text))
    assert not is_paged(lexical.severity), lexical.evidence


# --- Reassurance: words saying the alarming part is over or not real raise the bar to page.
REASSURED_HARMLESS = [
    "my son had loads of cash and i panicked, turns out hes been selling his old football "
    "stickers online",
    "got an email saying they have my videos and want bitcoin, i know its a scam, just annoying",
    "my daughter self harmed years ago and is doing really well now, any tips for her exams",
    "my mate says shell kill herself laughing when she sees my haircut",
]

REASSURED_STILL_PAGED = [
    "turns out the older friend she stays with is 25 and gives her vodka and weed",
    "i thought it was a scam but he really has my nudes and says hell send them to my mum "
    "unless i pay",
    "it turns out my stepdad has been hitting my little brother when mum is at work",
]


@pytest.mark.parametrize("text", REASSURED_HARMLESS)
def test_a_resolved_or_unreal_alarm_is_not_paged(text: str) -> None:
    result = screen(text)
    assert result.severity == "none", result.evidence
    assert any(e.startswith("reads as over or not real") for e in result.evidence)


@pytest.mark.parametrize("text", REASSURED_STILL_PAGED)
def test_reassuring_words_do_not_hide_real_harm(text: str) -> None:
    result = screen(text)
    assert is_paged(result.severity), result.evidence


def _prediction(page: float, flag: float) -> Prediction:
    concern = flag - page
    severity = {"none": 1 - flag, "concern": concern, "urgent": page, "emergency": 0.0}
    return Prediction(severity=severity, categories=dict.fromkeys(CATEGORIES, 0.0))


@pytest.mark.parametrize(
    ("lexicon", "page", "flag", "expected"),
    [
        # Without reassurance an urgent phrase pages from PAGE_WITH_STRONG ...
        ("urgent", 0.3, 0.4, "urgent"),
        # ... and below it is recorded, never dropped.
        ("urgent", 0.1, 0.2, "concern"),
        # With reassurance the same phrase needs PAGE_REASSURED to page ...
        ("urgent+", 0.3, 0.4, "none"),
        ("urgent+", 0.65, 0.75, "urgent"),
        # ... and FLAG_REASSURED to be recorded.
        ("none+", 0.55, 0.72, "concern"),
        ("emergency+", 0.1, 0.65, "emergency"),
    ],
)
def test_reassurance_raises_the_bar_in_the_policy(
    lexicon: str, page: float, flag: float, expected: str
) -> None:
    severity = lexicon.rstrip("+")
    lexical = Lexical(
        hits=[],
        hit_sev={},
        evidence=[],
        severity=severity,
        reassurance="turns out" if lexicon.endswith("+") else None,
    )
    got, _ = decide(lexical, _prediction(page, flag), PURE_POLICY)
    assert got == expected


@pytest.mark.parametrize(
    ("text", "paged"),
    [
        ("my 12 year old is missing", True),
        ("Our son has gone missing, please help", True),
        ("my best friend has been missing since tuesday", True),
        ("my foster daughter is missing again", True),
        ("my son is missing his dad", False),
        ("my friend is missing lol turns out she was at her nans", False),
        ("what should we do if our son goes missing", False),
        ("my sister is missing the point", False),
    ],
)
def test_a_plain_missing_child_report_pages_whatever_the_classifiers_read(
    text: str, paged: bool
) -> None:
    assert is_paged(screen(text).severity) is paged, screen(text).evidence


def test_a_firm_phrase_pages_without_the_classifier_but_not_past_reassurance() -> None:
    firm = Lexical(hits=[], hit_sev={}, evidence=[], severity="urgent", firm=True)
    assert decide(firm, _prediction(0.05, 0.1), PURE_POLICY)[0] == "urgent"
    reassured = Lexical(
        hits=[], hit_sev={}, evidence=[], severity="urgent", reassurance="turns out", firm=True
    )
    assert decide(reassured, _prediction(0.05, 0.1), PURE_POLICY)[0] == "none"


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("the minibus drops the boys home after training at 9", False),
        ("my son is back home now, thank god", False),
        ("my daughter, 15, hasnt come home since friday", True),
        ("our lad has run away again", True),
    ],
)
def test_a_child_is_missing_only_when_the_words_say_so(text: str, missing: bool) -> None:
    from waymark.screen.core import read_lexicon

    lexical = read_lexicon(normalise(text))
    assert ("missing_runaway" in {h.category for h in lexical.hits}) is missing, lexical.evidence


def test_every_data_file_is_a_writer_and_no_eval_message_is_trained_on() -> None:
    from waymark.screen import data

    writers = data.by_writer()
    files = {p.stem for p in data.DATA_DIR.glob("extra_*.yml")}
    assert files <= set(writers), files - set(writers)
    trained = {normalise(ex.text) for exs in writers.values() for ex in exs}
    for path in sorted((ROOT / "eval").glob("*.yml")):
        items = yaml.safe_load(path.read_text(encoding="utf-8"))
        copies = [i["id"] for i in items if normalise(i["text"]) in trained]
        assert not copies, f"{path.name}: trained on {copies}"


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("i w4nt 2 d1e", "i want to die"),
        ("how 2 tell my mum", "how to tell my mum"),
        ("i have 2 hold stuff for them", "i have to hold stuff for them"),
        ("i 4m n0t 0k", "i am not ok"),
        # Numbers stay numbers where they count things.
        ("had 2 pills", "had 2 pills"),
        ("my son has 2 phones", "my son has 2 phones"),
        ("took 2 paracetamol", "took 2 paracetamol"),
    ],
)
def test_normaliser_reads_two_as_to_only_where_a_verb_follows(text: str, normalised: str) -> None:
    assert normalise(text) == normalised


def test_the_model_cache_round_trips_and_survives_a_corrupt_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from waymark.screen import cache
    from waymark.screen.model import Example, train

    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    examples = [
        Example("my stepdad hits me", "urgent", ("physical_abuse",)),
        Example("can we meet at the cafe", "none", ()),
    ]
    trained = 0

    def train_small() -> Model:
        nonlocal trained
        trained += 1
        return train(examples)

    first = cache.load_or_train(train_small)
    second = cache.load_or_train(train_small)
    assert trained == 1
    assert np.array_equal(first.weights, second.weights)
    assert np.array_equal(first.bias, second.bias)

    (cached,) = tmp_path.glob("*.npz")
    cached.write_bytes(b"not a numpy archive")
    third = cache.load_or_train(train_small)
    assert trained == 2
    assert np.array_equal(first.weights, third.weights)

    monkeypatch.setenv(cache.CACHE_ENV, "off")
    cache.load_or_train(train_small)
    assert trained == 3
