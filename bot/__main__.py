"""`python -m bot` is `switchboard`."""

from bot.cli import main

main()
