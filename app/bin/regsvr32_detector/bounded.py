"""The one kind of cache the app keeps: answers within a budget of bytes.

Every cache that holds something of an event (a command line's parse, a verdict, a folded path, a
row's encoded cells) is a ``Bounded``: what it may hold is counted in bytes, estimated by the
caller from the sizes of the strings it keeps (``sys.getsizeof``, which counts 1, 2 or 4 bytes a
character as Python stores them) plus a fixed cost per object, calibrated against tracemalloc
(tests/test_bounded.py checks each estimate is at least what the answer really holds). A count
of entries is no bound: one answer for a 4,000-character line of 64 arguments holds about 60 KB,
one for a short line 2 KB.

When an answer would overflow the budget, every answer is forgotten: cheaper than keeping an
order (a stream's working set refills it at once), and the budget holds at every moment. An
answer larger than ``largest`` is handed back without being kept.

An answer is kept from its key's second sighting on (``admits``): most command lines, paths and
verdicts of a stream are seen once, and sizing, storing and later forgetting them cost more
than their first answer did. The first sighting leaves only the key's hash (about 60 bytes, up
to an eighth of the budget's worth, then forgotten together).
"""
import sys

ENTRY_BYTES = 120           # a dict slot, its key tuple's header, the accounting
SEEN_BYTES = 64             # a hash in the set of keys seen once: an int and its set slot


def text_bytes(text):
    """What a str costs as Python stores it (1, 2 or 4 bytes a character, plus its header)."""
    return sys.getsizeof(text)


class Bounded(dict):
    """A dict whose ``put`` keeps the estimated bytes of what it holds within ``budget``.

    Reading is a plain dict's (``get``, ``in``, ``[]``): hot paths pay nothing for the bound.
    """

    __slots__ = ("budget", "largest", "used", "_seen", "_most_seen")

    def __init__(self, budget, largest=None):
        dict.__init__(self)
        self.budget = budget
        self.largest = budget // 16 if largest is None else largest
        self.used = 0
        self._seen = set()
        self._most_seen = max(1, budget // 8 // SEEN_BYTES)

    def admits(self, key):
        """Whether an answer for KEY is worth keeping: True from the key's second sighting on
        (a hash collision admits early, which costs only bytes within the budget)."""
        h = hash(key)
        seen = self._seen
        if h in seen:
            return True
        if len(seen) >= self._most_seen:
            seen.clear()
        seen.add(h)
        return False

    def put(self, key, value, size):
        """Keep VALUE under KEY if SIZE (estimated bytes of key and value) fits; return whether
        it is kept."""
        size += ENTRY_BYTES
        if size > self.largest:
            return False
        if key not in self:
            if self.used + size > self.budget:
                self.clear()
            self[key] = value
            self.used += size
        return True

    def clear(self):
        dict.clear(self)
        self.used = 0


def remembered(budget, size):
    """A decorator: remember a one-argument function's answers in a Bounded of BUDGET bytes
    (from an argument's second sighting on), each costing SIZE(argument, answer) bytes. The
    cache is the wrapper's ``cache``."""
    def wrap(fn):
        cache = Bounded(budget)
        get, put, admits = cache.get, cache.put, cache.admits

        def remembering(arg):
            answer = get(arg)
            if answer is None:
                answer = fn(arg)
                if admits(arg):
                    put(arg, answer, size(arg, answer))
            return answer
        remembering.cache = cache
        remembering.__doc__ = fn.__doc__
        remembering.__name__ = fn.__name__
        return remembering
    return wrap


__all__ = ["Bounded", "remembered", "text_bytes", "ENTRY_BYTES", "SEEN_BYTES"]
