"""`python -m tfzoo.cli ...`: the `tfzoo` command."""

import sys

from tfzoo.cli import main

sys.exit(main())
