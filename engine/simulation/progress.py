"""A plain-text progress bar on stderr: redrawn in place on a terminal, one line every 5 % otherwise."""

import time


class ProgressBar:
    def __init__(self, stream, start, end, width=30):
        self.stream = stream
        self.start, self.end = start, end
        self.width = width
        self.in_place = hasattr(stream, "isatty") and stream.isatty()
        self.last_step = -1
        self.began = time.monotonic()  # wall time, for the rate shown; never read by the simulation

    def __call__(self, moment, stats):
        fraction = min(1.0, (moment - self.start) / (self.end - self.start))
        step = int(fraction * 20)
        if not self.in_place and step == self.last_step:
            return
        self.last_step = step
        elapsed = max(time.monotonic() - self.began, 1e-9)
        instances = stats["instances started"]
        filled = int(fraction * self.width)
        line = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%} {moment:%Y-%m-%d} "
            f"instances {instances} tasks {stats['tasks completed']} ({instances / elapsed * 60:.0f} instances/min)"
        )
        self.stream.write(("\r" + line) if self.in_place else line + "\n")
        self.stream.flush()

    def finish(self):
        if self.in_place:
            self.stream.write("\n")
            self.stream.flush()
