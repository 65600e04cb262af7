"""Prefect flows: thin sequences of steps that read like the business process."""
