"""Slack adapter (slack-bolt, asyncio): ``/sora`` slash command, paste diagnosis in threads,
Block Kit replies, alert delivery. See adapters/slack/README.md for installing the app."""
