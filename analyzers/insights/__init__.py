"""Conversation insights: customer sentiment (``sentiment``), keywords and word frequency
of a selection of messages (``keywords``), and an extractive summary of a conversation
(``summary``). Everything runs locally on bundled data: nothing is downloaded at run time."""
