"""Ad-hoc requests: an admin asks units for a report or a deliverable outside the plan."""
