"""Search results as conversations: the matching messages of one conversation (in one
folder) become one row, led by the newest match, with how many matched and how many the
conversation has. The grouping is the conversation list's (``conversations.group``)."""

from __future__ import annotations

from dataclasses import dataclass

from web.mailservice.conversations import group, indexed_heads
from web.mailservice.mailbox import MessageSummary, UserMailbox


@dataclass(frozen=True)
class ResultThread:
    """One conversation among the results."""

    latest: MessageSummary  # the newest matching message
    matches: int  # how many of its messages matched
    count: int  # how many messages the conversation has in that folder

    @property
    def unread(self) -> bool:
        """True when a matching message is unread."""
        return self.latest.unread


def group_results(mailbox: UserMailbox, results: list[MessageSummary]) -> list[ResultThread]:
    """The results (newest first) folded into conversations, in the order of their newest."""
    thread_of: dict[tuple[str, int], tuple[str, int, int]] = {}
    for folder in dict.fromkeys(r.folder for r in results):
        _messages, heads, _dates = indexed_heads(mailbox, folder)
        for uids in group(heads.values()):
            for uid in uids:
                thread_of[(folder, uid)] = (folder, min(uids), len(uids))
    rows: dict[tuple[str, int], list[MessageSummary]] = {}
    sizes: dict[tuple[str, int], int] = {}
    for result in results:
        alone = (result.folder, -result.uid, 1)  # not in the index's heads: a row of its own
        folder, root, size = thread_of.get((result.folder, result.uid), alone)
        rows.setdefault((folder, root), []).append(result)
        sizes[(folder, root)] = size
    return [ResultThread(found[0], len(found), sizes[key]) for key, found in rows.items()]
