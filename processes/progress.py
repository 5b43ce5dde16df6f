"""A plain text progress bar for management commands; no dependency, and readable in a CI log.

On a terminal the bar is redrawn in place (``\\r``); elsewhere (a pipe, a log file) a new line is
written only when the bar has moved by a tenth, so a log of a long run stays short.
"""

import sys

BAR_WIDTH = 30


class ProgressBar:
    """``[#########.....]  45/100  name-of-the-current-item`` on ``stream`` (stderr by default)."""

    def __init__(self, total, *, stream=None, width=BAR_WIDTH):
        self.total = max(int(total), 0)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_tenth = -1

    def line(self, done, label=""):
        filled = self.width if not self.total else self.width * done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        count = f"{done}/{self.total}".rjust(2 * len(str(self.total)) + 1)
        return f"[{bar}] {count}  {label}".rstrip()

    def update(self, done, label=""):
        if self.interactive:
            self.stream.write("\r\033[K" + self.line(done, label)[:200])
            if done >= self.total:
                self.stream.write("\n")
        else:
            tenth = 10 if not self.total else 10 * done // self.total
            if tenth == self._last_tenth and done < self.total:
                return
            self._last_tenth = tenth
            self.stream.write(self.line(done, label) + "\n")
        self.stream.flush()
