"""The account's figures at a glance (the dashboard's overview), from each domain's services."""
