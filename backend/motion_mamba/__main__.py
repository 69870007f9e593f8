"""`python -m motion_mamba ...` = the `motion-mamba` command (for launchers like torchrun that want a module)."""

from .cli import main

raise SystemExit(main())
