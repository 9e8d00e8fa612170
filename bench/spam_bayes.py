"""Precision and recall of the per-user Bayesian classifier on a held-out corpus.

How the corpus is made (nothing is downloaded):

- **ham**: the docstrings of the Python standard library installed here (``pydoc``-style
  text of modules, classes and functions; PSF-licensed documentation, not public
  domain), cut into mails of 40-200 words with ordinary headers and subjects taken
  from the text, from a handful of made-up correspondents;
- **spam**: made from templates: lottery, pharmacy, loan, crypto, phishing and
  "business proposal" patterns, with slots filled at random from word lists, from
  random sender domains, some as HTML, some with obfuscated words (``v1agra``).

Both are generated from a fixed seed, shuffled and split: ``--train`` of each class is
learnt, the rest is classified. A message counts as flagged when its spam probability
reaches ``--cutoff`` (0.9, the ``BAYES_90`` rule). Spam is a synthetic, easy target:
read the figures as a check that learning works end to end, not as a measure of how
it would do on real spam.

    python bench/spam_bayes.py [--messages 1000] [--train 0.7] [--cutoff 0.9]
"""

from __future__ import annotations

import argparse
import inspect
import pkgutil
import random
import re
import sys
import tempfile
import time
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailrs.inbound.spam.bayes import Classifier  # noqa: E402

SKIP = re.compile(r"^(test|idlelib|tkinter|turtledemo|lib2to3|ensurepip|__)")
PEOPLE = ["ann@uni.test", "bob@work.test", "chen@lab.test", "dora@club.test", "eve@home.test"]
SPAM_TEMPLATES = [
    "Congratulations {name}! You have been selected as the {adj} winner of our {prize} "
    "lottery. To claim your {amount} prize, reply with your bank details within {days} days.",
    "Buy {drug} online without prescription. {adj} prices, {pct}% off today only. "
    "Discreet shipping worldwide. Click {url} to order now.",
    "Dear friend, I am {name}, a {title} from {country}. I need your help to transfer "
    "{amount} out of the country. You will receive {pct}% for your assistance.",
    "Your account has been suspended. Verify your identity at {url} within {days} hours "
    "or your {service} account will be closed permanently.",
    "Make {amount} per week working from home! {adj} opportunity, no experience needed. "
    "Join thousands of happy members at {url}.",
    "Invest in {coin} now and double your money in {days} days. {adj} returns guaranteed "
    "by our trading experts. Register at {url} before the offer ends.",
]
SLOTS = {
    "name": ["Mr. Smith", "Dr. Okafor", "Mrs. Lee", "Barrister James", "Prince Adewale"],
    "adj": ["exclusive", "lucky", "amazing", "limited", "guaranteed", "incredible", "special"],
    "prize": ["international", "online", "mega", "annual", "platinum"],
    "amount": ["$1,500,000", "$25,000", "5,000 EUR", "$10 million", "$950"],
    "days": ["3", "5", "7", "10", "48"],
    "drug": ["v1agra", "cialis", "xanax", "weight loss pills", "meds"],
    "pct": ["30", "50", "70", "80", "90"],
    "url": [
        "http://cheap-deals.example/x",
        "http://verify-now.example/login",
        "http://win.example/claim",
        "http://coin-profit.example/join",
    ],
    "title": ["bank manager", "lawyer", "government official", "widow of a minister"],
    "country": ["a faraway country", "overseas", "the capital"],
    "service": ["PayPal", "bank", "mailbox", "Apple ID"],
    "coin": ["Bitcoin", "our new token", "crypto", "DogeGold"],
}
SPAM_SUBJECTS = [
    "You won!",
    "URGENT: account suspended",
    "Lowest prices",
    "Business proposal",
    "Earn money fast",
    "Your prize is waiting",
    "Act now",
    "Re: your invoice",
]


def docstrings(limit: int) -> list[str]:
    """Docstring paragraphs of the standard library, long enough to be a mail."""
    found: list[str] = []
    names = sorted(m.name for m in pkgutil.iter_modules() if not SKIP.match(m.name))
    for name in names:
        if len(found) >= limit:
            break
        try:
            module = import_module(name)
        except Exception:
            continue
        for _, obj in inspect.getmembers(module):
            doc = inspect.getdoc(obj) if callable(obj) or inspect.ismodule(obj) else None
            if doc and 40 <= len(doc.split()) <= 400 and doc not in found:
                found.append(doc)
    return found[:limit]


def ham_mail(rng: random.Random, n: int, text: str) -> bytes:
    words = text.split()
    subject = " ".join(words[:6])
    body = " ".join(words[:200])
    sender = rng.choice(PEOPLE)
    return (
        f"From: <{sender}>\r\nTo: user@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <h{n}@{sender.split('@')[1]}>\r\n\r\n{body}\r\n"
    ).encode()


def spam_mail(rng: random.Random, n: int) -> bytes:
    text = rng.choice(SPAM_TEMPLATES).format(**{k: rng.choice(v) for k, v in SLOTS.items()})
    sender = f"{rng.choice(['promo', 'info', 'winner', 'support'])}@{rng.randrange(10**6)}.example"
    html = rng.random() < 0.4
    body = f"<html><body><p>{text}</p></body></html>" if html else text
    kind = "text/html" if html else "text/plain"
    return (
        f"From: <{sender}>\r\nTo: user@example.test\r\nSubject: {rng.choice(SPAM_SUBJECTS)}\r\n"
        f"Message-ID: <s{n}@{sender.split('@')[1]}>\r\nContent-Type: {kind}\r\n\r\n{body}\r\n"
    ).encode()


def main() -> None:
    """Build the corpus, train on part of it, report on the rest."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="of each class")
    parser.add_argument("--train", type=float, default=0.7, help="share learnt")
    parser.add_argument("--cutoff", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    texts = docstrings(args.messages)
    ham = [ham_mail(rng, n, t) for n, t in enumerate(texts)]
    spam = [spam_mail(rng, n) for n in range(len(ham))]
    rng.shuffle(ham)
    rng.shuffle(spam)
    cut = int(len(ham) * args.train)
    with tempfile.TemporaryDirectory() as folder, Classifier(Path(folder) / "b.sqlite") as c:
        started = time.perf_counter()
        for data in spam[:cut]:
            c.learn(data, True)
        for data in ham[:cut]:
            c.learn(data, False)
        learnt = time.perf_counter() - started
        started = time.perf_counter()
        spam_scores = [c.spam_probability(d) or 0.0 for d in spam[cut:]]
        ham_scores = [c.spam_probability(d) or 0.0 for d in ham[cut:]]
        scored = time.perf_counter() - started
    true_pos = sum(p >= args.cutoff for p in spam_scores)
    false_pos = sum(p >= args.cutoff for p in ham_scores)
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 1.0
    recall = true_pos / len(spam_scores) if spam_scores else 0.0
    print(f"corpus: {len(ham)} ham (stdlib docstrings) + {len(spam)} spam (templates)")
    print(f"trained on {cut} + {cut}, held out {len(ham) - cut} + {len(spam) - cut}")
    print(f"cutoff {args.cutoff}: precision {precision:.3f}, recall {recall:.3f}")
    print(f"false positives {false_pos}, missed spam {len(spam_scores) - true_pos}")
    unsure = sum(0.3 < p < 0.7 for p in spam_scores + ham_scores)
    print(f"unsure (0.3-0.7): {unsure}; learning {learnt:.1f}s, classifying {scored:.1f}s")


if __name__ == "__main__":
    main()
