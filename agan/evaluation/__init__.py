"""Evaluation: metrics (PSNR, SSIM, attention AUC; LPIPS in ``lpips``), scoring methods on a
dataset and writing tables and CSVs (``compare``), and side-by-side grids (``grids``)."""
