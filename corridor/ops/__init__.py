"""Protection operations: sites, people, movements under SOPs with an approval workflow, proximity alerts."""
