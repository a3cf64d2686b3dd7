"""`python -m services.cli` runs the veille command."""

from services.cli.main import main

main()
