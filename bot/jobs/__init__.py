"""Background jobs on apscheduler: outbox delivery, status notifications, batch acceptance, X mention
polling, remote sync and clean-up. ``scheduler.JobRunner`` runs them; ``leader`` decides where."""
