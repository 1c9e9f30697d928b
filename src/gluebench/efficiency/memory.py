"""Peak memory of a block of inference: CUDA allocator statistics, or the process's peak RSS."""

from __future__ import annotations

import threading
from pathlib import Path


class PeakMemory:
    """Peak memory while the block runs.

    CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` (tensors
    only, not the CUDA context). CPU: the process's peak resident set size. On Linux the
    kernel's high-water mark (VmHWM) is reset first by writing 5 to
    ``/proc/self/clear_refs``, so the peak is exact and covers only the block;
    ``resource.getrusage``'s ``ru_maxrss`` cannot be reset and would report any earlier
    peak (e.g. loading the model). Where that reset is not allowed, RSS is sampled by a
    background thread every millisecond with psutil (a lower bound: spikes between
    samples are missed). ``baseline`` is the resident memory (or allocated CUDA memory)
    when the block starts, with the model loaded.
    """

    def __init__(self, device: str):
        self.device, self.method, self.baseline, self.peak = device, "", 0, 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.baseline = torch.cuda.memory_allocated()
            self.method = "torch.cuda.max_memory_allocated (tensors; excludes the CUDA context)"
        elif _reset_peak_rss():
            self.baseline = _status_kib("VmRSS") * 1024
            self.method = "peak RSS: Linux VmHWM, reset via /proc/self/clear_refs before the run"
        else:
            self.baseline = self.peak = _rss()
            self.method = "peak RSS: psutil, sampled every 1 ms by a background thread"
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc) -> None:
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated()
        elif self._thread is None:
            self.peak = _status_kib("VmHWM") * 1024
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, _rss())

    def result(self) -> dict:
        return {"value": int(self.peak), "baseline": int(self.baseline),
                "increase": int(max(0, self.peak - self.baseline)), "method": self.method}


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak RSS (Linux >= 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        # A kernel (or sandbox) that ignores the reset leaves the old peak above RSS.
        return _status_kib("VmHWM") <= _status_kib("VmRSS") + 16 * 1024
    except (OSError, ValueError):
        return False


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise ValueError(f"no {key} in /proc/self/status")


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss
