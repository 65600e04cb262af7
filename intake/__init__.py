"""Intake: addressing, validating and storing a submission, its receipt, locks and blobs."""
