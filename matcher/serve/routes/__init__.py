"""The endpoints, one router per concern: matching, catalogs, and the service itself."""
