"""Cloud marketplace usage results (`POST /cloudUsageSubmission`): stored and listed, never sent anywhere."""
