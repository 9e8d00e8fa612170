"""Users, aliases, recipient resolution, passwords and the login throttle."""
