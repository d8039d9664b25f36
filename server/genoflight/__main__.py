"""``python -m genoflight`` is the ``genoflight`` command."""

import sys

from genoflight.cli import main

if __name__ == "__main__":
    sys.exit(main())
