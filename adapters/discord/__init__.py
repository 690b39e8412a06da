"""Discord adapter (discord.py, asyncio): ``/sora`` app commands, paste diagnosis as message
replies, embeds, alert delivery (replies and edits). Entry point: ``adapters.discord.runtime
.start_discord``. No module here is named ``discord`` (it would shadow the library)."""
