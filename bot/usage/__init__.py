"""Costs and budgets: the ledger of what was spent, the limits checked before anything is
spent, the `/usage` report and the KIE account balance.

- `ledger.py` holds every line of SQL (one small module, so another store engine needs
  only it rewritten);
- `prices.py` is the one place prices live;
- `budget.py` decides (check-and-reserve, settle) and words the refusals;
- `report.py` writes `/usage`; `balance.py` watches KIE's balance.
"""
