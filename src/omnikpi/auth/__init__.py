"""Users, roles, permissions, sessions, API tokens, sign-in limits and the audit log, kept in
the app-state store (sign-in limits in memory)."""

from omnikpi.auth.audit import AuditEntry, AuditEvent, audit_entries, record_audit
from omnikpi.auth.demo import DEMO_LOGINS, DEMO_PASSWORD, DemoLogin, create_demo_users
from omnikpi.auth.errors import NotAuthenticated
from omnikpi.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    PASSWORD_HASHING,
    HashPool,
    PasswordCheckBusy,
    check_password_strength,
)
from omnikpi.auth.permissions import (
    CUSTOMER_LEVEL_ACTIONS,
    PERMISSIONS,
    TIERS,
    Action,
    ActionDenied,
    allowed_actions,
    check_allowed,
    is_allowed,
    may_see_kpi,
    may_see_tier,
    parse_scopes,
)
from omnikpi.auth.roles import ALL_ROLES, ROLE_CHOICES, MemberRole, Role, UserRole, parse_role
from omnikpi.auth.sessions import SESSION_LIFETIME, end_session, session_user, start_session
from omnikpi.auth.sign_in import SignInRefused, sign_in
from omnikpi.auth.signing import CookieSigner, secret_key
from omnikpi.auth.store import AppStateStore, app_state_path
from omnikpi.auth.throttle import LoginLimits, LoginThrottle
from omnikpi.auth.tokens import (
    TOKEN_PREFIX,
    ApiToken,
    authenticate_token,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
)
from omnikpi.auth.users import (
    User,
    authenticate,
    create_user,
    disable_user,
    enable_user,
    find_user,
    get_user,
    list_users,
    set_locale,
    set_password,
    set_role,
)

__all__ = [
    "ALL_ROLES",
    "CUSTOMER_LEVEL_ACTIONS",
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "MIN_PASSWORD_LENGTH",
    "PASSWORD_HASHING",
    "PERMISSIONS",
    "ROLE_CHOICES",
    "SESSION_LIFETIME",
    "TIERS",
    "TOKEN_PREFIX",
    "Action",
    "ActionDenied",
    "ApiToken",
    "AppStateStore",
    "AuditEntry",
    "AuditEvent",
    "CookieSigner",
    "DemoLogin",
    "HashPool",
    "LoginLimits",
    "LoginThrottle",
    "MemberRole",
    "NotAuthenticated",
    "PasswordCheckBusy",
    "Role",
    "SignInRefused",
    "User",
    "UserRole",
    "allowed_actions",
    "app_state_path",
    "audit_entries",
    "authenticate",
    "authenticate_token",
    "check_allowed",
    "check_password_strength",
    "create_api_token",
    "create_demo_users",
    "create_user",
    "disable_user",
    "enable_user",
    "end_session",
    "find_user",
    "get_user",
    "is_allowed",
    "list_api_tokens",
    "list_users",
    "may_see_kpi",
    "may_see_tier",
    "parse_role",
    "parse_scopes",
    "record_audit",
    "revoke_api_token",
    "secret_key",
    "session_user",
    "set_locale",
    "set_password",
    "set_role",
    "sign_in",
    "start_session",
]
