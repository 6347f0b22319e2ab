"""The WeCom archive simulator: writes a realistic encrypted archive and serves it.

``simulate(out, messages, ...)`` writes the directory described in the simulator format
(sim.json, org.json, chatdata.jsonl + chatdata.idx, truth.jsonl, labels.jsonl,
faults.jsonl, keys/, withheld-keys/, media/); ``SimulatorSource(out)`` serves it through
the same ``Source`` interface as the vendor SDK.
"""

from __future__ import annotations

from indexer.source.simulator.generate import DEFAULT_END, SimulationSummary, simulate
from indexer.source.simulator.source import SimulatorSource

__all__ = ["DEFAULT_END", "SimulationSummary", "SimulatorSource", "simulate"]
