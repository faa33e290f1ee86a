"""A small app with an ImageField, as a user's project has: for the admin preview's tests."""
