"""Terminal tables (rich) and the number formatting every table and report shares."""
