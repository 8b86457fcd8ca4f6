"""Page tests log in often: a cheap argon2 setting keeps them quick (the users' own tests,
tests/users, use the real one)."""

import pytest
from argon2 import PasswordHasher


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashes():
    import cvm.users.facade as facade

    real = facade._hasher
    facade._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    facade._hasher = real
