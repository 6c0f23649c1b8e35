"""`python -m citeqa …` is the `citeqa` command."""

from citeqa.cli.main import main

raise SystemExit(main())
