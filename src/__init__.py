"""alert-processor: the Appwrite Function that turns Alertmanager webhooks into rows and notifications."""
