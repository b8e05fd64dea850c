"""Problem sets: the embedded seed set, solving and checking its answers, and reports."""
