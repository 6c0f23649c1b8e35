"""`python -m citeqa.cli`."""

import sys

from citeqa.cli.main import main

sys.exit(main())
