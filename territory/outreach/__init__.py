"""Where the team goes and how: playbook, event history, joint site choice, ranking, the plan."""
