"""Risk: a self-exciting (Hawkes) model of attack intensity on an h3 grid, ratings 1-5 with explanations,
backtests against baselines. See docs/risk.md for the equations and assumptions."""
