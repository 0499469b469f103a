"""`python -m bot` runs the `exitplan` command."""

from bot.cli import main

raise SystemExit(main())
