"""Gmail over the Gmail REST API (googleapiclient), with OAuth tokens in the keyring."""

from services.email.gmail.auth import SCOPES, read_client_secrets, sign_in
from services.email.gmail.errors import RetryPolicy
from services.email.gmail.service import GmailService

__all__ = ["SCOPES", "GmailService", "RetryPolicy", "read_client_secrets", "sign_in"]
