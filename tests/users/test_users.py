"""Users of the pages on SQLite and PostgreSQL: adding, argon2 hashes, logins, the limit on
failed logins and its window, sessions and their expiry, logout, disabling, and whose work
each role sees."""

from __future__ import annotations

import datetime as dt

import pytest

from cvm.errors import AuthenticationError, ConflictError, InputError
from cvm.users import LoginLimitError

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def users(ws, db_url):
    return ws.with_settings(**{"programme.database_url": db_url,
                               "web.login_failures": 3, "web.login_window_minutes": 10,
                               "web.session_hours": 8}).users


def test_add_stores_an_argon2_hash_never_the_password(users):
    row = users.add("li.wei", "correct horse", "staff", team="branch:north", language="zh")
    assert row["username"] == "li.wei" and row["language"] == "zh-CN"
    assert "password_hash" not in row
    with users.store.read() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM users").scalar()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    listed = users.list()
    assert listed.to_dict("records")[0]["team"] == "branch:north"
    assert "password_hash" not in listed.columns


def test_bad_users_are_refused(users):
    users.add("li.wei", "correct horse", "staff")
    with pytest.raises(ConflictError, match="exists"):
        users.add("li.wei", "another one", "staff")
    with pytest.raises(InputError, match="role"):
        users.add("wang", "correct horse", "owner")
    with pytest.raises(InputError, match="8 characters"):
        users.add("wang", "short", "staff")
    with pytest.raises(InputError, match="username"):
        users.add(" wang", "correct horse", "staff")


def test_login_gives_a_session_until_it_expires(users):
    users.add("li.wei", "correct horse", "staff")
    token, session = users.login("li.wei", "correct horse", now=T0)
    assert session.role == "staff" and session.expires_at == T0 + dt.timedelta(hours=8)
    found = users.session(token, now=T0 + dt.timedelta(hours=7, minutes=59))
    assert found.username == "li.wei" and found.csrf_token == session.csrf_token
    assert users.session(token, now=T0 + dt.timedelta(hours=8)) is None
    assert users.session("not-a-token", now=T0) is None
    assert users.session(None) is None
    with users.store.read() as conn:   # only the token's sha256 is kept
        assert conn.exec_driver_sql("SELECT token_hash FROM web_sessions").scalar() != token


def test_wrong_passwords_count_and_lock_the_username_for_the_window(users):
    users.add("li.wei", "correct horse", "staff")
    for minute in range(3):    # three wrong ones in the window of 10 minutes: the limit
        with pytest.raises(AuthenticationError, match="wrong username or password"):
            users.login("li.wei", "wrong", now=T0 + dt.timedelta(minutes=minute))
    # the fourth try, even with the right password, is refused until T0 + 10 min
    with pytest.raises(LoginLimitError) as exc:
        users.login("li.wei", "correct horse", now=T0 + dt.timedelta(minutes=5))
    assert exc.value.http_status == 429 and exc.value.retry_after == 5 * 60 + 1
    token, _ = users.login("li.wei", "correct horse", now=T0 + dt.timedelta(minutes=10))
    assert users.session(token, now=T0 + dt.timedelta(minutes=11)) is not None
    # a success resets the count: two more wrong ones are allowed again
    for minute in (12, 13):
        with pytest.raises(AuthenticationError):
            users.login("li.wei", "wrong", now=T0 + dt.timedelta(minutes=minute))
    users.login("li.wei", "correct horse", now=T0 + dt.timedelta(minutes=14))


def test_unknown_and_disabled_users_get_the_same_answer(users):
    users.add("li.wei", "correct horse", "staff")
    token, _ = users.login("li.wei", "correct horse", now=T0)
    with pytest.raises(AuthenticationError, match="wrong username or password"):
        users.login("nobody", "correct horse", now=T0)
    users.disable("li.wei")
    assert users.session(token, now=T0) is None     # sessions end at once
    with pytest.raises(AuthenticationError, match="wrong username or password"):
        users.login("li.wei", "correct horse", now=T0)


def test_logout_and_new_password_end_sessions(users):
    users.add("li.wei", "correct horse", "staff")
    t1, _ = users.login("li.wei", "correct horse", now=T0)
    t2, _ = users.login("li.wei", "correct horse", now=T0)
    users.logout(t1)
    assert users.session(t1, now=T0) is None and users.session(t2, now=T0) is not None
    users.set_password("li.wei", "battery staple")
    assert users.session(t2, now=T0) is None
    with pytest.raises(AuthenticationError):
        users.login("li.wei", "correct horse", now=T0)
    users.login("li.wei", "battery staple", now=T0)


def test_language_is_remembered_for_the_session_and_the_user(users):
    users.add("li.wei", "correct horse", "staff")
    token, session = users.login("li.wei", "correct horse", now=T0)
    assert session.language is None
    assert users.set_language(token, "zh") == "zh-CN"
    assert users.session(token, now=T0).language == "zh-CN"
    _, again = users.login("li.wei", "correct horse", now=T0)
    assert again.language == "zh-CN"


def test_whose_work_each_role_sees(users):
    users.add("boss", "correct horse", "manager", team="branch:north")
    users.add("li.wei", "correct horse", "staff", team="branch:north")
    users.add("wang", "correct horse", "staff", team="branch:north")
    users.add("zhao", "correct horse", "staff", team="branch:south")
    users.add("head", "correct horse", "manager")
    users.add("ana", "correct horse", "analyst")
    users.disable("wang")

    def owners(name):
        _, s = users.login(name, "correct horse", now=T0)
        return users.work_owners(s)

    assert owners("li.wei") == ["li.wei"]
    assert owners("boss") == ["branch:north", "boss", "li.wei"]   # wang is disabled
    assert owners("head") is None and owners("ana") is None
