"""Entry point for ``python -m reformdiag``."""

from reformdiag.cli import main

if __name__ == "__main__":
    main()
