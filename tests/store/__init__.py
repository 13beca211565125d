"""Store operations across processes and databases: multi-bot safety, upgrades, backups, bad URLs."""
