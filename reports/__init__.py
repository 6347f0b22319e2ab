"""Read-side reports for the dashboard and the CLI, computed with the store's aggregations
(never by loading every message), always within the caller's scope.

``stats``: volumes (per day, per hour of the week, by type, department, employee, chat
kind), new customers, violation trends. ``people``: an employee's chats and figures
(the 查看聊天记录 page). ``service``: service quality per employee. ``review``:
reproducible random samples of unflagged conversations and violation review. ``keywords``,
``summary``, ``trend``: keywords, conversation summaries and sentiment trends of a
selection. ``backtest``: a rule replayed over stored history.
"""
