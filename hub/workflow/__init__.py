"""The SLRT workflow: records, reviews, referrals, decisions; the rules live in ``rules.py``."""
