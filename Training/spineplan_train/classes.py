"""The class list of the shipped model, in the contract's vocabulary (Docs/model-contract.md §4)."""

VERTEBRAE = ["T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "L6", "S1"]
DISCS = ["T10/T11", "T11/T12", "T12/L1", "L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/L6", "L5/S1", "L6/S1", "L4/S1"]
CLASSES = ["background"] + VERTEBRAE + DISCS + ["canal"]
INDEX = {name: i for i, name in enumerate(CLASSES)}
# Levels above T10 (T8, T9 and their discs) are merged into background: the planner counts up from the sacrum.
MERGED_INTO_BACKGROUND = ["T8", "T9", "T8/T9", "T9/T10"]
# Synth's label scheme calls the dural sac this.
CANAL_NAMES = ("canal", "dural_sac", "dural sac", "csf")


def is_disc(name):
    return "/" in name
