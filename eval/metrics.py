"""Metrics for the disclosure-screen benchmark (standard library, and the category list).

Everything here is a pure function over ``(expected item, prediction)`` pairs, so any detector
(the screen, a keyword list, a person labelling by hand) can be scored the same way.

Vocabulary, following the severity policy in docs/architecture.md:

- *paged*: severity emergency or urgent (a duty worker is called);
- *recorded*: any severity but none (paged, or a concern record for review);
- a *hard negative* is a harmless message that looks risky ("i could murder a pizza").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from waymark.screen.model import CATEGORIES as SCREEN_CATEGORIES

SEVERITIES: tuple[str, ...] = ("emergency", "urgent", "concern", "none")
PAGED_SEVERITIES: frozenset[str] = frozenset({"emergency", "urgent"})
# One list of categories for the whole project (safeguarding.md section 4).
CATEGORIES: tuple[str, ...] = SCREEN_CATEGORIES
SPEAKERS: tuple[str, ...] = ("young_person", "parent")
ABOUTS: tuple[str, ...] = ("self", "other")


@dataclass(frozen=True)
class Expected:
    """One labelled message from eval/messages.yml."""

    id: str
    text: str
    speaker: str
    about: str
    severity: str
    categories: tuple[str, ...]
    hard_negative: bool


@dataclass(frozen=True)
class Predicted:
    """What a detector said about one message."""

    severity: str
    categories: tuple[str, ...] = ()


Pair = tuple[Expected, Predicted]


def is_paged(severity: str) -> bool:
    """Return True if a severity pages the duty worker (emergency or urgent)."""
    return severity in PAGED_SEVERITIES


def is_recorded(severity: str) -> bool:
    """Return True if a severity leaves any alert record (anything but none)."""
    return severity != "none"


def parse_item(raw: Mapping[str, Any]) -> Expected:
    """Validate one raw item of the evaluation set and turn it into an :class:`Expected`.

    Args:
        raw: A mapping with the keys id, text, speaker, about, expected_severity, categories
            and hard_negative.

    Returns:
        The validated item.

    Raises:
        ValueError: If a field is missing, has an unknown value, or the labels contradict each
            other (a none item with categories, a hard negative that is not none, an emergency
            without immediate_danger).
    """
    try:
        item = Expected(
            id=str(raw["id"]),
            text=str(raw["text"]),
            speaker=str(raw["speaker"]),
            about=str(raw["about"]),
            severity=str(raw["expected_severity"]),
            categories=tuple(str(c) for c in raw["categories"]),
            hard_negative=bool(raw["hard_negative"]),
        )
    except KeyError as exc:
        raise ValueError(f"item {raw.get('id', '?')}: missing field {exc}") from exc
    where = f"item {item.id}"
    if not item.text.strip():
        raise ValueError(f"{where}: empty text")
    if item.speaker not in SPEAKERS:
        raise ValueError(f"{where}: unknown speaker {item.speaker!r}")
    if item.about not in ABOUTS:
        raise ValueError(f"{where}: unknown about {item.about!r}")
    if item.severity not in SEVERITIES:
        raise ValueError(f"{where}: unknown severity {item.severity!r}")
    unknown = [c for c in item.categories if c not in CATEGORIES]
    if unknown:
        raise ValueError(f"{where}: unknown categories {unknown}")
    if (item.severity == "none") != (not item.categories):
        raise ValueError(f"{where}: categories must be empty exactly when severity is none")
    if item.hard_negative and item.severity != "none":
        raise ValueError(f"{where}: a hard negative must have severity none")
    if (item.severity == "emergency") != ("immediate_danger" in item.categories):
        raise ValueError(f"{where}: immediate_danger goes with emergency and only emergency")
    return item


def parse_items(raw_items: Iterable[Mapping[str, Any]]) -> list[Expected]:
    """Validate a whole evaluation set; ids must be unique.

    Args:
        raw_items: The raw items, as loaded from YAML.

    Returns:
        The validated items, in order.

    Raises:
        ValueError: On any invalid item or a duplicate id.
    """
    items = [parse_item(raw) for raw in raw_items]
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ValueError(f"duplicate id {item.id}")
        seen.add(item.id)
    return items


def make_prediction(severity: str, categories: Iterable[str]) -> Predicted:
    """Build a :class:`Predicted`, rejecting values outside the contract.

    Args:
        severity: One of :data:`SEVERITIES`.
        categories: Category names from :data:`CATEGORIES`.

    Returns:
        The prediction.

    Raises:
        ValueError: On an unknown severity or category.
    """
    if severity not in SEVERITIES:
        raise ValueError(f"unknown predicted severity {severity!r}")
    cats = tuple(categories)
    unknown = [c for c in cats if c not in CATEGORIES]
    if unknown:
        raise ValueError(f"unknown predicted categories {unknown}")
    return Predicted(severity=severity, categories=cats)


@dataclass(frozen=True)
class Ratio:
    """A count out of a total; ``value`` is None when the total is zero."""

    hits: int
    total: int

    @property
    def value(self) -> float | None:
        """The ratio, or None if there is nothing to divide by."""
        return self.hits / self.total if self.total else None

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"hits", "total", "value"}`` for JSON output."""
        return {"hits": self.hits, "total": self.total, "value": self.value}


@dataclass(frozen=True)
class GroupStats:
    """Figures for one slice of the set (all items, one severity, one category, one speaker).

    Recalls and hard-negative rates are computed inside the slice. ``paged_precision`` and
    ``recorded_precision`` are computed inside the slice too, which is meaningful only for
    slices chosen by an input attribute (all, speaker); ``label_precision`` and
    ``label_recall`` are filled in for severity and category slices, on the prediction side.
    """

    name: str
    n: int
    paged_recall: Ratio
    recorded_recall: Ratio
    paged_precision: Ratio | None
    recorded_precision: Ratio | None
    label_precision: Ratio | None
    label_recall: Ratio | None
    hard_negatives_paged: Ratio
    hard_negatives_recorded: Ratio
    emergencies_missed: int
    emergencies_downgraded: int

    def to_dict(self) -> dict[str, Any]:
        """Return the figures as plain JSON-ready data."""

        def opt(r: Ratio | None) -> dict[str, Any] | None:
            return r.to_dict() if r is not None else None

        return {
            "name": self.name,
            "n": self.n,
            "paged_recall": self.paged_recall.to_dict(),
            "recorded_recall": self.recorded_recall.to_dict(),
            "paged_precision": opt(self.paged_precision),
            "recorded_precision": opt(self.recorded_precision),
            "label_precision": opt(self.label_precision),
            "label_recall": opt(self.label_recall),
            "hard_negatives_paged": self.hard_negatives_paged.to_dict(),
            "hard_negatives_recorded": self.hard_negatives_recorded.to_dict(),
            "emergencies_missed": self.emergencies_missed,
            "emergencies_downgraded": self.emergencies_downgraded,
        }


def _slice_stats(
    name: str,
    pairs: Sequence[Pair],
    *,
    with_precision: bool,
    label_precision: Ratio | None = None,
    label_recall: Ratio | None = None,
) -> GroupStats:
    should_page = [p for e, p in pairs if is_paged(e.severity)]
    should_record = [p for e, p in pairs if is_recorded(e.severity)]
    hard = [p for e, p in pairs if e.hard_negative]
    emergencies = [p for e, p in pairs if e.severity == "emergency"]
    paged_precision = recorded_precision = None
    if with_precision:
        paged_precision = Ratio(
            sum(1 for e, p in pairs if is_paged(p.severity) and is_paged(e.severity)),
            sum(1 for _, p in pairs if is_paged(p.severity)),
        )
        recorded_precision = Ratio(
            sum(1 for e, p in pairs if is_recorded(p.severity) and is_recorded(e.severity)),
            sum(1 for _, p in pairs if is_recorded(p.severity)),
        )
    return GroupStats(
        name=name,
        n=len(pairs),
        paged_recall=Ratio(sum(1 for p in should_page if is_paged(p.severity)), len(should_page)),
        recorded_recall=Ratio(
            sum(1 for p in should_record if is_recorded(p.severity)), len(should_record)
        ),
        paged_precision=paged_precision,
        recorded_precision=recorded_precision,
        label_precision=label_precision,
        label_recall=label_recall,
        hard_negatives_paged=Ratio(sum(1 for p in hard if is_paged(p.severity)), len(hard)),
        hard_negatives_recorded=Ratio(sum(1 for p in hard if is_recorded(p.severity)), len(hard)),
        emergencies_missed=sum(1 for p in emergencies if not is_paged(p.severity)),
        emergencies_downgraded=sum(1 for p in emergencies if p.severity == "urgent"),
    )


def category_label_ratios(pairs: Sequence[Pair], category: str) -> tuple[Ratio, Ratio]:
    """Precision and recall of one category label, ignoring severity grades.

    A prediction carries a category only if its severity is not none (a "none" result with
    categories left in it raises nothing, so it counts for nothing).

    Args:
        pairs: The scored pairs.
        category: The category to score.

    Returns:
        ``(precision, recall)``: of the records that carry the category, how many were
        expected to; of the disclosures expected to carry it, how many records did.
    """
    predicted = [e for e, p in pairs if is_recorded(p.severity) and category in p.categories]
    expected = [p for e, p in pairs if is_recorded(e.severity) and category in e.categories]
    precision = Ratio(sum(1 for e in predicted if category in e.categories), len(predicted))
    recall = Ratio(
        sum(1 for p in expected if is_recorded(p.severity) and category in p.categories),
        len(expected),
    )
    return precision, recall


def severity_label_precision(pairs: Sequence[Pair], severity: str) -> Ratio:
    """Of the items predicted at ``severity``, how many were expected at exactly that severity."""
    predicted = [e for e, p in pairs if p.severity == severity]
    return Ratio(sum(1 for e in predicted if e.severity == severity), len(predicted))


def confusion_matrix(pairs: Sequence[Pair]) -> dict[str, dict[str, int]]:
    """Count expected severity (outer key) against predicted severity (inner key)."""
    matrix = {exp: dict.fromkeys(SEVERITIES, 0) for exp in SEVERITIES}
    for e, p in pairs:
        matrix[e.severity][p.severity] += 1
    return matrix


@dataclass(frozen=True)
class Report:
    """All figures for one run over the evaluation set."""

    overall: GroupStats
    by_severity: list[GroupStats]
    by_category: list[GroupStats]
    by_speaker: list[GroupStats]
    confusion: dict[str, dict[str, int]]
    hard_negative_categories: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready data."""
        return {
            "overall": self.overall.to_dict(),
            "by_severity": [g.to_dict() for g in self.by_severity],
            "by_category": [g.to_dict() for g in self.by_category],
            "by_speaker": [g.to_dict() for g in self.by_speaker],
            "confusion": self.confusion,
            "hard_negative_categories": self.hard_negative_categories,
        }


def evaluate(pairs: Sequence[Pair]) -> Report:
    """Score a detector's predictions against the expected labels.

    Args:
        pairs: One ``(expected, predicted)`` pair per message.

    Returns:
        The report: overall, per expected severity, per expected category and per speaker.
    """
    by_severity = [
        _slice_stats(
            sev,
            [(e, p) for e, p in pairs if e.severity == sev],
            with_precision=False,
            label_precision=severity_label_precision(pairs, sev),
        )
        for sev in SEVERITIES
    ]
    by_category = []
    for cat in CATEGORIES:
        precision, recall = category_label_ratios(pairs, cat)
        by_category.append(
            _slice_stats(
                cat,
                [(e, p) for e, p in pairs if cat in e.categories],
                with_precision=False,
                label_precision=precision,
                label_recall=recall,
            )
        )
    by_speaker = [
        _slice_stats(sp, [(e, p) for e, p in pairs if e.speaker == sp], with_precision=True)
        for sp in SPEAKERS
    ]
    # Which labels fire on harmless messages tells you where the false alarms come from.
    hn_categories: dict[str, int] = {}
    for e, p in pairs:
        if e.hard_negative and is_recorded(p.severity):
            for cat in p.categories:
                hn_categories[cat] = hn_categories.get(cat, 0) + 1
    return Report(
        overall=_slice_stats("all", pairs, with_precision=True),
        by_severity=by_severity,
        by_category=by_category,
        by_speaker=by_speaker,
        confusion=confusion_matrix(pairs),
        hard_negative_categories=dict(sorted(hn_categories.items(), key=lambda kv: -kv[1])),
    )


def misses(pairs: Sequence[Pair]) -> list[Pair]:
    """Pairs expected to be paged (emergency or urgent) that the detector did not page."""
    return [(e, p) for e, p in pairs if is_paged(e.severity) and not is_paged(p.severity)]


def false_alarms(pairs: Sequence[Pair]) -> list[Pair]:
    """Hard negatives the detector recorded or paged."""
    return [(e, p) for e, p in pairs if e.hard_negative and is_recorded(p.severity)]


def _pct(r: Ratio | None, *, counts: bool = True) -> str:
    if r is None or r.value is None:
        return "-"
    pct = f"{100 * r.value:.1f}%"
    return f"{pct} ({r.hits}/{r.total})" if counts else pct


def _render(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            str(cell).ljust(w) if i == 0 else str(cell).rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_summary(rows: Sequence[tuple[str, str, GroupStats]]) -> str:
    """Render one line of headline figures per evaluation set.

    Args:
        rows: ``(set name, how the set may be used, overall figures)`` per set.

    Returns:
        A plain-text table.
    """
    header = [
        "set",
        "use",
        "n",
        "paged recall",
        "emerg missed",
        "HN paged",
        "HN recorded",
        "recorded recall",
    ]
    body = [
        [
            name,
            use,
            str(g.n),
            _pct(g.paged_recall),
            str(g.emergencies_missed),
            _pct(g.hard_negatives_paged),
            _pct(g.hard_negatives_recorded),
            _pct(g.recorded_recall),
        ]
        for name, use, g in rows
    ]
    return _render(header, body)


def format_report(report: Report) -> str:
    """Render a report as plain text tables.

    Each table shows only the columns that mean something for its slices: hard negatives have
    no categories, and precision inside a slice chosen by its expected label says nothing.

    Args:
        report: The output of :func:`evaluate`.

    Returns:
        Several tables separated by blank lines, with a short legend.
    """
    columns: dict[str, Callable[[GroupStats], str]] = {
        "n": lambda g: str(g.n),
        "paged recall": lambda g: _pct(g.paged_recall),
        "recorded recall": lambda g: _pct(g.recorded_recall),
        "paged prec": lambda g: _pct(g.paged_precision),
        "recorded prec": lambda g: _pct(g.recorded_precision),
        "label prec": lambda g: _pct(g.label_precision),
        "label recall": lambda g: _pct(g.label_recall),
        "HN paged": lambda g: _pct(g.hard_negatives_paged),
        "HN recorded": lambda g: _pct(g.hard_negatives_recorded),
        "emerg missed": lambda g: str(g.emergencies_missed),
    }

    def table(first: str, groups: Sequence[GroupStats], names: Sequence[str]) -> str:
        rows = [[g.name, *(columns[name](g) for name in names)] for g in groups]
        return _render((first, *names), rows)

    o = report.overall
    parts = [
        "OVERALL",
        f"  paged recall (emergency+urgent paged):  {_pct(o.paged_recall)}",
        f"  recorded recall (any disclosure kept):  {_pct(o.recorded_recall)}",
        f"  paged precision:                        {_pct(o.paged_precision)}",
        f"  recorded precision:                     {_pct(o.recorded_precision)}",
        f"  hard negatives paged:                   {_pct(o.hard_negatives_paged)}",
        f"  hard negatives recorded:                {_pct(o.hard_negatives_recorded)}",
        f"  emergencies missed (not paged):         {o.emergencies_missed}",
        f"  emergencies graded only urgent:         {o.emergencies_downgraded}",
        "",
        "BY EXPECTED SEVERITY (label prec: of those predicted at this severity, expected at it)",
        table(
            "expected",
            report.by_severity,
            (
                "n",
                "paged recall",
                "recorded recall",
                "label prec",
                "HN paged",
                "HN recorded",
                "emerg missed",
            ),
        ),
        "",
        "BY EXPECTED CATEGORY (label prec/recall: the category label itself, at any severity)",
        table(
            "category",
            report.by_category,
            ("n", "paged recall", "recorded recall", "label prec", "label recall", "emerg missed"),
        ),
        "",
        "BY SPEAKER",
        table(
            "speaker",
            [o, *report.by_speaker],
            (
                "n",
                "paged recall",
                "recorded recall",
                "paged prec",
                "recorded prec",
                "HN paged",
                "HN recorded",
                "emerg missed",
            ),
        ),
        "",
        "SEVERITY CONFUSION (rows expected, columns predicted)",
        _render(
            ("expected", *SEVERITIES),
            [
                [exp, *(str(report.confusion[exp][pred]) for pred in SEVERITIES)]
                for exp in SEVERITIES
            ],
        ),
    ]
    if report.hard_negative_categories:
        parts += [
            "",
            "CATEGORIES RAISED ON HARD NEGATIVES",
            *(f"  {cat}: {n}" for cat, n in report.hard_negative_categories.items()),
        ]
    parts += [
        "",
        "paged = emergency or urgent; recorded = anything but none; HN = hard negatives "
        "(harmless messages that look risky).",
    ]
    return "\n".join(parts)


def composition(items: Sequence[Expected]) -> dict[str, dict[str, int]]:
    """Count the evaluation set by severity, category, speaker, about and hard negatives.

    Args:
        items: The evaluation set.

    Returns:
        ``{"severity": {...}, "category": {...}, "speaker": {...}, "speaker_about": {...},
        "category_by_severity": {...}, "hard_negative": {...}}`` of counts.
    """
    out: dict[str, dict[str, int]] = {
        "severity": dict.fromkeys(SEVERITIES, 0),
        "category": dict.fromkeys(CATEGORIES, 0),
        "speaker": dict.fromkeys(SPEAKERS, 0),
        "speaker_about": {f"{s}/{a}": 0 for s in SPEAKERS for a in ABOUTS},
        "category_by_severity": {
            f"{c}/{s}": 0 for c in CATEGORIES for s in SEVERITIES if s != "none"
        },
        "hard_negative": {"true": 0, "false": 0},
    }
    for item in items:
        out["severity"][item.severity] += 1
        out["speaker"][item.speaker] += 1
        out["speaker_about"][f"{item.speaker}/{item.about}"] += 1
        out["hard_negative"]["true" if item.hard_negative else "false"] += 1
        for cat in item.categories:
            out["category"][cat] += 1
            out["category_by_severity"][f"{cat}/{item.severity}"] += 1
    return out


def format_composition(items: Sequence[Expected]) -> str:
    """Render :func:`composition` as a plain table: categories by severity, then totals."""
    comp = composition(items)
    sevs = [s for s in SEVERITIES if s != "none"]
    rows = [
        [
            cat,
            *(str(comp["category_by_severity"][f"{cat}/{s}"]) for s in sevs),
            str(comp["category"][cat]),
        ]
        for cat in CATEGORIES
    ]
    parts = [
        f"{len(items)} messages",
        "severity: " + ", ".join(f"{k} {v}" for k, v in comp["severity"].items()),
        "speaker/about: " + ", ".join(f"{k} {v}" for k, v in comp["speaker_about"].items()),
        f"hard negatives: {comp['hard_negative']['true']}",
        "",
        _render(("category", *sevs, "total"), rows),
        "(an item may carry several categories)",
    ]
    return "\n".join(parts)
