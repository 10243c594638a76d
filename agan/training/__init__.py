"""Training: a run's settings (``config``), its folder (``run_folder``), the one engine with a
supervised and an adversarial step (``engine``, ``steps``), the losses, the saved training state,
the guards against losing work, and what a finished run becomes (``release``, ``plot``)."""
