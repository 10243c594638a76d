"""Methods: one registry of every restoration method (filters, shipped models, checkpoints), the
network restorer with tiling, the shipped releases, the checkpoint format and the torch hub cache."""
