"""Evaluation: metrics (PSNR, SSIM, attention AUC; LPIPS in ``lpips``), scoring methods on a
dataset and writing tables and CSVs (``compare``), side-by-side grids (``grids``), and block
seams in a restorer's change map (``seams``)."""
