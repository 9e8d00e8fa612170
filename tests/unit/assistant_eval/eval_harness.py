"""Running and judging assistant requests against a seeded mailbox: shared by the
evaluation set (eval_mailbox, cases_*.yaml) and the held-out set (heldout_mailbox,
heldout_*.yaml).

A request passes when the engine took the expected action (the Actions method it called),
on the expected messages (the list it showed, or the message it acted on), said what the
answer must say, and changed nothing it was not allowed to (actions wait for the confirm
button).
"""

from __future__ import annotations

import functools
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from eval_mailbox import Seed, seed_mailbox

from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.queue.spool import Spool
from mailrs.store.maildir import MaildirStore
from mailrs.store.records import MessageRef
from web.assistant.actions import Actions, Conversation, Reply
from web.assistant.engine import OfflineEngine
from web.assistant.language import fold
from web.mailservice.mailbox import UserMailbox
from web.mailservice.sending import Outbox

HERE = Path(__file__).parent
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
ACTIONS = {*METHODS.values(), "thread", "mark_read", "mark_unread"}
READING = {"read", "summarize", "thread", "digest"}


@dataclass
class Seeded:
    """One seeded mailbox: its messages, owner and the day requests are asked on."""

    seeds: tuple[Seed, ...]
    owner: str
    today: Any
    facts: dict[tuple[str, int], Any] = field(default_factory=dict)

    @property
    def by_id(self) -> dict[str, Seed]:
        """The seeds by their short id."""
        return {seed.id: seed for seed in self.seeds}


def load_cases(prefix: str) -> list[dict[str, Any]]:
    """Every request of ``<prefix>_en.yaml`` and ``<prefix>_fr.yaml``, with its language."""
    cases = []
    for lang in ("en", "fr"):
        for case in yaml.safe_load((HERE / f"{prefix}_{lang}.yaml").read_text("utf-8")):
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


def build_template(seeded: Seeded, root: Path) -> Path:
    """The seeded Maildir tree under ``root``, built once and copied for each request."""
    store = MaildirStore(root)
    with UserMailbox(store, seeded.owner) as mailbox:
        refs = seed_mailbox(mailbox, seeded.seeds)
        for info in mailbox.folders():  # parsed into the full-text index once, for every copy
            messages = mailbox.messages(info.name)
            mailbox.service.ensure_content(info.name, [MessageRef.of(m) for m in messages])
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
    unconfirmed_change: bool = False


@dataclass
class Bench:
    """Where requests run: the seeded mailbox, its template copy and the app's parts."""

    seeded: Seeded
    template: Path
    work: Path
    settings: Settings
    database: Database
    press_confirm: bool = False


def run_case(case: dict[str, Any], bench: Bench) -> Outcome:
    """Run one request (after its earlier turns) and judge it."""
    work = bench.work
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(bench.template, work)
    refs = {(f, u): i for f, u, i in yaml.safe_load((work / "refs.yaml").read_text("utf-8"))}
    ids = {i: ref for ref, i in refs.items()}
    store = MaildirStore(work)
    spool = work / "spool"
    spool.mkdir()
    with UserMailbox(store, bench.seeded.owner, bench.settings) as mailbox:
        outbox = Outbox(bench.settings, bench.database, Spool(spool))
        actions = RecordingActions(mailbox, outbox, Conversation(today=bench.seeded.today))
        # every copy starts with the same messages: what the finder read of one serves all
        actions.finder._facts = bench.seeded.facts
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
        outcome = judge(case, reply, actions.record, shown, ids, bench.seeded, before, after)
        if outcome.passed and case.get("confirm") and bench.press_confirm:
            outcome = press_confirm(outcome, actions, reply, mailbox, spool, after)
        return outcome


def press_confirm(
    outcome: Outcome,
    actions: Actions,
    reply: Reply,
    mailbox: UserMailbox,
    spool: Path,
    before: dict[str, Any],
) -> Outcome:
    """Press the answer's confirm button: the action must then change the mailbox or spool."""
    pid = next(b.get("id") for b in reply.buttons if b.get("action") == "confirm")
    done = actions.confirm(pid)
    if snapshot(mailbox, spool) == before:
        return Outcome(outcome.case, False, f"the confirm button changed nothing: {done.text!r}")
    return outcome


def judge(
    case: dict[str, Any],
    reply: Reply,
    record: Record,
    shown: list[str],
    ids: dict[str, tuple[str, int]],
    seeded: Seeded,
    before: dict[str, Any],
    after: dict[str, Any],
) -> Outcome:
    """Whether one answer is right, and why not."""
    action = action_name(record)
    changed = before != after
    if changed and (action in READING) and without_seen(before) == without_seen(after):
        changed = False
    if changed:
        return Outcome(case, False, f"changed the mailbox without confirmation ({action})", True)
    if action != case["action"]:
        return Outcome(case, False, f"action {action}, expected {case['action']}")
    by_id = seeded.by_id
    if "shown" in case:
        extra = {i for i in shown if by_id.get(i) is None or by_id[i].folder != "Sent"}
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


def check_well_formed(cases: list[dict[str, Any]], seeded: Seeded, least: int) -> None:
    """At least ``least`` requests per language, each naming known messages and actions."""
    for lang in ("en", "fr"):
        assert sum(c["lang"] == lang for c in cases) >= least
    for case in cases:
        named = [*case.get("shown", []), *case.get("includes", [])]
        named += [case["target"]] if "target" in case else []
        assert all(i in seeded.by_id for i in named), case
        assert case["action"] in ACTIONS, case


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


def report(title: str, outcomes: list[Outcome]) -> str:
    """The printed report: the table, then each failed request and why."""
    lines = [title, score_table(outcomes)]
    for outcome in outcomes:
        if not outcome.passed:
            lines.append(
                f"FAIL [{outcome.case['lang']}/{outcome.case['cat']}] "
                f"{outcome.case['say']!r}: {outcome.why}"
            )
    return "\n".join(lines)
