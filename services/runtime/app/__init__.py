"""Process wiring: the service context every process opens and its parts (the installation's
workspaces, triage changes, topics added at run time), health, logging."""
