"""Kemendagri administrative regions (province, regency/city, district, village) and their loader."""
