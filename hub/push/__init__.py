"""Pushes from ministry systems: programme catalogue entries and enrolments, idempotent per key."""
