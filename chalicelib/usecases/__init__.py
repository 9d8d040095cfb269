"""Use cases: what a clinician or a patient can do, in terms of the domain and the ports."""
