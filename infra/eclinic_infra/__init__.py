"""eClinic's AWS deployment as code."""
