"""`python -m earshot` runs the command line."""

from .cli import main

main()
