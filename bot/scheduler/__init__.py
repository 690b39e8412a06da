"""Scheduled work: APScheduler 3 (AsyncIOScheduler) jobs, one leader among replicas."""

from bot.scheduler.jobs import JobSpec, Scheduler
from bot.scheduler.leader import FileLockLeader, always_leader
from bot.scheduler.lease import LeaseElector

__all__ = ["JobSpec", "Scheduler", "FileLockLeader", "LeaseElector", "always_leader"]
