"""The contract phase (step 7 for real): KPIs, evaluation moments, measurements and progress.

Kept in its own package so the preparation flow does not need to know about it: the contract
record lives in the tender's state under `contract`, so deleting a tender deletes its contract.
"""
