"""`python -m switchboard.bot` is `switchboard`."""

from switchboard.bot.cli import main

if __name__ == "__main__":  # not when the worker process is spawned from here
    main()
