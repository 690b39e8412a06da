"""``python -m bot.diagnosis check FILE.toml …``: validate knowledge files and run their examples."""

from bot.diagnosis.knowledge import main

raise SystemExit(main())
