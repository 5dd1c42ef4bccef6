"""The local try-out: Tend in a terminal, no Slack or Teams needed."""
