"""``python -m tinygrad_edu`` runs the same command line as ``tinygrad-edu``."""

from tinygrad_edu.cli import main

raise SystemExit(main())
