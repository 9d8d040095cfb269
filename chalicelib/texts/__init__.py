"""Texts (SMS) to patients: phone numbers checked and normalised, and the text-sending port."""
