"""Periodic jobs that must run in one process at a time across every server and worker."""
