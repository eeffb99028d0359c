"""Review: analysts verify, edit, retract, merge and split incidents; every change is kept and audited."""
