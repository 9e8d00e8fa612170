"""The assistant's evaluation set: every request of cases_en.yaml and cases_fr.yaml runs
against the offline engine on a freshly seeded mailbox.

A request passes when the engine took the expected action (the Actions method it called),
on the expected messages (the list it showed, or the message it acted on), said what the
answer must say, and changed nothing it was not allowed to (actions wait for the confirm
button). The score per language and per category is printed; the test fails under
``THRESHOLD`` (raised as the engine improves).
"""

from __future__ import annotations

import datetime as dt
import functools
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from eval_mailbox import BY_ID, OWNER, TODAY, seed_mailbox

from mailrs.accounts.users import add_user
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.queue.spool import Spool
from mailrs.store.maildir import MaildirStore
from web.assistant.actions import Actions, Conversation, Reply
from web.assistant.engine import OfflineEngine
from web.assistant.language import fold
from web.mailservice.mailbox import UserMailbox
from web.mailservice.sending import Outbox

HERE = Path(__file__).parent
FACTS: dict[tuple[str, int], Any] = {}  # the finder's reading of the seeded messages
# Passing requests needed per language (the score recorded in the README).
THRESHOLD = {"en": 104, "fr": 107}
# Actions method -> the action name the cases use.
METHODS = {
    "list_messages": "list",
    "unread": "unread",
    "search": "search",
    "read": "read",
    "summarize": "summarize",
    "summarize_thread": "thread",
    "digest": "digest",
    "count": "count",
    "stats": "stats",
    "urgent": "urgent",
    "attachments": "attachments",
    "clarify": "clarify",
    "prepare_send": "send",
    "prepare_reply": "reply",
    "prepare_forward": "forward",
    "prepare_delete": "delete",
    "prepare_move": "move",
    "prepare_flag": "flag",
    "prepare_mark": "mark",
    "mark": "mark",
}
READING = {"read", "summarize", "thread", "digest"}


def load_cases() -> list[dict[str, Any]]:
    """Every request of both files, with its language."""
    cases = []
    for lang in ("en", "fr"):
        for case in yaml.safe_load((HERE / f"cases_{lang}.yaml").read_text("utf-8")):
            cases.append({**case, "lang": lang})
    return cases


@dataclass
class Record:
    """What the engine did during one turn."""

    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    resolved: list[tuple[str, int]] = field(default_factory=list)
    depth: int = 0


class RecordingActions(Actions):
    """The real actions, noting each top-level call and each message resolved."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.record = Record()
        for name in METHODS:
            method = getattr(self, name, None)
            if method is not None:
                setattr(self, name, self._wrap(name, method))

    def _wrap(self, name: str, method: Callable[..., Reply]) -> Callable[..., Reply]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Reply:
            if self.record.depth == 0:
                self.record.calls.append((name, args, kwargs))
            self.record.depth += 1
            try:
                return method(*args, **kwargs)
            finally:
                self.record.depth -= 1

        return call

    def resolve(self, target: int | str | None) -> Any:
        """The real resolution, remembered."""
        ref = super().resolve(target)
        if isinstance(ref, tuple):
            self.record.resolved.append(ref)
        return ref


def action_name(record: Record) -> str:
    """The case's name for the last top-level action the engine took."""
    if not record.calls:
        return "none"
    name, args, kwargs = record.calls[-1]
    if name == "summarize" and (kwargs.get("thread") or (len(args) > 1 and args[1])):
        return "thread"
    if name in ("mark", "prepare_mark"):
        read = kwargs.get("read", args[1] if len(args) > 1 else True)
        return "mark_read" if read else "mark_unread"
    if name == "prepare_move":
        folder = kwargs.get("folder", args[1] if len(args) > 1 else None)
        return "delete" if folder == "Trash" else "move"
    return METHODS[name]


def snapshot(mailbox: UserMailbox, spool: Path) -> dict[str, Any]:
    """Every folder's UIDs and flags, and the spool's files."""
    state: dict[str, Any] = {
        info.name: {m.uid: m.flags for m in mailbox.messages(info.name)}
        for info in mailbox.folders()
    }
    state["__spool__"] = sorted(str(p) for p in spool.rglob("*") if p.is_file())
    return state


def without_seen(state: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with the Seen flag left out (reading a message sets it)."""
    return {
        name: {uid: flags.replace("S", "") for uid, flags in value.items()}
        if isinstance(value, dict)
        else value
        for name, value in state.items()
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded Maildir tree, built once and copied for each request."""
    root = tmp_path_factory.mktemp("eval-template")
    store = MaildirStore(root)
    with UserMailbox(store, OWNER) as mailbox:
        refs = seed_mailbox(mailbox)
    (root / "refs.yaml").write_text(
        yaml.safe_dump([[f, u, i] for (f, u), i in refs.items()]), "utf-8"
    )
    return root


@dataclass
class Outcome:
    """One request's result."""

    case: dict[str, Any]
    passed: bool
    why: str


def run_case(
    case: dict[str, Any], template: Path, work: Path, settings: Settings, database: Database
) -> Outcome:
    """Run one request (after its earlier turns) and judge it."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(template, work)
    refs = {(f, u): i for f, u, i in yaml.safe_load((work / "refs.yaml").read_text("utf-8"))}
    ids = {i: ref for ref, i in refs.items()}
    store = MaildirStore(work)
    spool = work / "spool"
    spool.mkdir()
    with UserMailbox(store, OWNER, settings) as mailbox:
        outbox = Outbox(settings, database, Spool(spool))
        actions = RecordingActions(mailbox, outbox, Conversation(today=TODAY))
        # every copy starts with the same messages: what the finder read of one serves all
        actions.finder._facts = FACTS
        engine = OfflineEngine(actions)
        for turn in case.get("before", []):
            engine.respond(turn)
        if "shown" in case or "includes" in case:
            actions.conv.shown = []
        actions.record = Record()
        before = snapshot(mailbox, spool)
        try:
            reply = engine.respond(case["say"])
        except Exception as exc:  # noqa: BLE001 - a crash is a failed request, reported
            return Outcome(case, False, f"crash {exc!r}")
        after = snapshot(mailbox, spool)
        shown = [refs.get(ref, "?") for ref in actions.conv.shown]
        return judge(case, reply, actions.record, shown, ids, before, after)


def judge(
    case: dict[str, Any],
    reply: Reply,
    record: Record,
    shown: list[str],
    ids: dict[str, tuple[str, int]],
    before: dict[str, Any],
    after: dict[str, Any],
) -> Outcome:
    """Whether one answer is right, and why not."""
    action = action_name(record)
    changed = before != after
    if changed and (action in READING) and without_seen(before) == without_seen(after):
        changed = False
    if changed:
        return Outcome(case, False, f"changed the mailbox without confirmation ({action})")
    if action != case["action"]:
        return Outcome(case, False, f"action {action}, expected {case['action']}")
    if "shown" in case:
        extra = {i for i in shown if BY_ID.get(i) is None or BY_ID[i].folder != "Sent"}
        if set(case["shown"]) != (extra | (set(shown) & set(case["shown"]))) or not set(
            case["shown"]
        ) <= set(shown):
            return Outcome(case, False, f"showed {shown}, expected {case['shown']}")
    if "includes" in case and not set(case["includes"]) <= set(shown):
        return Outcome(case, False, f"showed {shown}, expected at least {case['includes']}")
    if "target" in case:
        wanted = ids[case["target"]]
        if not record.resolved or record.resolved[-1] != wanted:
            got = record.resolved[-1] if record.resolved else None
            return Outcome(case, False, f"acted on {got}, expected {case['target']}")
    text = fold(reply.text)
    missing = [c for c in case.get("contains", []) if fold(str(c)) not in text]
    if missing:
        return Outcome(case, False, f"answer lacks {missing}: {reply.text[:160]!r}")
    present = [c for c in case.get("excludes", []) if fold(str(c)) in text]
    if present:
        return Outcome(case, False, f"answer has {present}")
    if case.get("confirm") and not any(b.get("action") == "confirm" for b in reply.buttons):
        return Outcome(case, False, "no confirm button")
    return Outcome(case, True, "")


@pytest.fixture
def users(settings: Settings, database: Database, store: MaildirStore) -> Iterator[None]:
    """The mailbox owner exists (the outbox checks the sender)."""
    with database.session() as session:
        add_user(session, store, OWNER, "alice password 1")
    yield


def score_table(outcomes: list[Outcome]) -> str:
    """The score per language and per category, as printed and put in the README."""
    passed: Counter[tuple[str, str]] = Counter()
    total: Counter[tuple[str, str]] = Counter()
    for outcome in outcomes:
        for key in ((outcome.case["lang"], outcome.case["cat"]), (outcome.case["lang"], "ALL")):
            total[key] += 1
            passed[key] += outcome.passed
    cats = sorted({c for _, c in total if c != "ALL"}) + ["ALL"]
    lines = [f"{'category':<12} {'en':>9} {'fr':>9}"]
    for cat in cats:
        cells = [f"{passed[(lang, cat)]}/{total[(lang, cat)]}" for lang in ("en", "fr")]
        lines.append(f"{cat:<12} {cells[0]:>9} {cells[1]:>9}")
    return "\n".join(lines)


def test_cases_are_well_formed() -> None:
    """At least 100 requests per language, each naming known messages."""
    cases = load_cases()
    for lang in ("en", "fr"):
        assert sum(c["lang"] == lang for c in cases) >= 100
    for case in cases:
        named = [*case.get("shown", []), *case.get("includes", [])]
        named += [case["target"]] if "target" in case else []
        assert all(i in BY_ID for i in named), case
        assert case["action"] in {*METHODS.values(), "thread", "mark_read", "mark_unread"}


@pytest.mark.timeout(1200)
def test_evaluation_set(
    users: None,
    template: Path,
    tmp_path: Path,
    settings: Settings,
    database: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run every request; print the score; fail under the threshold."""
    outcomes = [
        run_case(case, template, tmp_path / "case", settings, database) for case in load_cases()
    ]
    with capsys.disabled():
        print(f"\nassistant evaluation, {dt.date.today().isoformat()}")
        print(score_table(outcomes))
        for outcome in outcomes:
            if not outcome.passed:
                print(
                    f"FAIL [{outcome.case['lang']}/{outcome.case['cat']}] "
                    f"{outcome.case['say']!r}: {outcome.why}"
                )
    for lang, needed in THRESHOLD.items():
        got = sum(o.passed for o in outcomes if o.case["lang"] == lang)
        assert got >= needed, f"{lang}: {got} requests pass, the threshold is {needed}"
