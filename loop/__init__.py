"""The closed loop, pure: warnings, tasks, routing, deadlines, state machine, supervision, profiles."""
