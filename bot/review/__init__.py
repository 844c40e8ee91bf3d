"""The operator side: the review queue, the console pages, sign-in and what the bot learns from people."""
