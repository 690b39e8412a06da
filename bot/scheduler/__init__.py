"""Scheduled work: APScheduler 3 (AsyncIOScheduler) jobs, one leader among replicas."""

from bot.scheduler.jobs import JobSpec, Scheduler
from bot.scheduler.leader import FileLockLeader, LeaderElector, always_leader

__all__ = ["JobSpec", "Scheduler", "FileLockLeader", "LeaderElector", "always_leader"]
