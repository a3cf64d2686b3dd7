"""Process wiring: the service context every process opens and its parts, health, logging."""
