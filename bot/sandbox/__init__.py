"""`switchboard sandbox`: the whole product in a browser, without a Slack workspace.

The app runs as `switchboard run` runs it, against the Slack stand-in (`bot/slack_standin.py`,
the same one the tests use), and a page served from here shows what the stand-in holds as a
chat client would, sending each click, submission and command to the app as Slack does.
"""
